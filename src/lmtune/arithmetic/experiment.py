"""The arithmetic experiment's declaration (lmtune.core.declaration): LoRA (optionally
QLoRA) on sums written in Spanish number words."""

from __future__ import annotations

from pathlib import Path

from lmtune.core.declaration import Experiment, model_set_headline
from lmtune.core.schema import ConfigError
from lmtune.core.training_spec import TrainingSpec, lora_adapter, training_spec

MEASURES = ("exact_sum_rate", "well_formed_rate", "mean_absolute_error")


def check_arithmetic(config: dict, workdir: Path = Path(".")) -> None:
    data = config["arithmetic"]["data"]
    low, high = data["target_range"]
    add_low, add_high = data["addend_range"]
    if not 0 < low <= high:
        raise ConfigError(f"arithmetic.data.target_range must be [low, high] with 0 < low <= high, got {[low, high]}")
    if not 0 < add_low <= add_high:
        raise ConfigError(f"arithmetic.data.addend_range must be [low, high] with 0 < low <= high, got {[add_low, add_high]}")
    if low < add_low:
        raise ConfigError(f"arithmetic.data.target_range starts at {low}, below the smallest addend {add_low}")
    if data["held_out_targets"] >= high - low + 1:
        raise ConfigError(
            f"arithmetic.data.held_out_targets ({data['held_out_targets']}) leaves no target in "
            f"target_range {[low, high]} to train on"
        )


def arithmetic_lora(config: dict) -> TrainingSpec:
    section = config["arithmetic"]
    return training_spec(
        config, "the arithmetic LoRA", "completions", section["training"], config["seed"], adapter=lora_adapter(section["lora"])
    )


def arithmetic_headline(metrics: dict) -> dict[str, float | None]:
    """From score_arithmetic's metrics: model -> evaluation set -> figures."""
    return model_set_headline("arithmetic", metrics, MEASURES)


EXPERIMENT = Experiment(
    name="arithmetic",
    order=1,
    check=check_arithmetic,
    training_specs=lambda config: {"arithmetic.training": arithmetic_lora(config)},
    metrics_file="arithmetic/metrics.json",
    headline=arithmetic_headline,
    in_cross_matrix=True,
)
