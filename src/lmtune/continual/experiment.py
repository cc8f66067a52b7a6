"""The continual experiment's declaration (lmtune.core.declaration): continual pre-training
on a sequence of domains, one phase per domain, under strategies against forgetting."""

from __future__ import annotations

from pathlib import Path

from lmtune.continual.strategies import Strategy, StrategyError, check_strategy, strategy
from lmtune.continual.strategies.sequential import Sequential
from lmtune.core.benchmarks import benchmark_tasks
from lmtune.core.errors import CorpusError
from lmtune.core.declaration import Experiment
from lmtune.core.schema import ConfigError
from lmtune.core.sources import check_corpus
from lmtune.core.training_spec import Adapter, TrainingSpec, training_spec


def check_strategies(config: dict) -> None:
    """Each strategy's settings, by its plug-in's own schema."""
    for name, settings in config["continual"].get("strategies", {}).items():
        try:
            check_strategy(name, settings)
        except StrategyError as exc:
            raise ConfigError(str(exc)) from None


def check_continual(config: dict, workdir: Path = Path(".")) -> None:
    section = config["continual"]
    domains, order, phases = section["domains"], section["order"], section["phases"]
    check_strategies(config)
    for domain in order:
        if domain not in domains:
            raise ConfigError(
                f"continual.order names domain {domain!r}, which is not in continual.domains "
                f"({', '.join(domains)})"
            )
        if domain not in phases:
            raise ConfigError(f"continual.phases has no entry for domain {domain!r} of continual.order")
    for domain, spec in domains.items():
        try:
            # Quick checks only on a large corpus (lmtune.core.sources.check_corpus); the
            # split job reads it whole, before any tokenization.
            check_corpus(spec["corpus"], workdir)
        except CorpusError as exc:
            raise ConfigError(f"continual.domains.{domain}.corpus: {exc}") from None
    # A benchmark task's figures are named as a domain's are (forgetting_<name>, ...).
    for index, name in enumerate(benchmark_tasks(config["benchmarks"])):
        if name in domains:
            raise ConfigError(
                f"benchmarks.tasks[{index}].task: task {name!r} has the name of a continual domain; rename one"
            )


# The training jobs: one phase per domain of `continual.order`, under a strategy.


def strategy_settings(config: dict, name: str) -> dict:
    """A configured strategy's settings; a target naming another one is an error, not a
    run planned with made-up settings. "sequential" need not be listed: it is also the
    home of the first phase that other strategies share."""
    strategies = config["continual"]["strategies"]
    if name in strategies:
        return strategies[name]
    if name == "sequential":
        return {"method": "sequential"}
    raise StrategyError(f"continual strategy {name!r} is not configured: continual.strategies has {', '.join(strategies)}")


def phase_strategy(config: dict, name: str, phase: str) -> tuple[Strategy, dict]:
    """The strategy a phase trains under, and its settings. With nothing earlier to act
    on, a strategy's first phase is the plain sequential one (with its own `training`
    overrides, if any)."""
    settings = strategy_settings(config, name)
    plugin = strategy(settings["method"])
    if phase == config["continual"]["order"][0] and plugin.first_phase_plain:
        return Sequential(), {"method": Sequential.method, **{k: v for k, v in settings.items() if k == "training"}}
    return plugin, settings


def continual_phase(config: dict, name: str, seed: int, phase: str) -> TrainingSpec:
    plugin, settings = phase_strategy(config, name, phase)
    first = phase == config["continual"]["order"][0]
    adapter = plugin.adapter(settings)
    # The user's own overrides win over the strategy's schedule.
    training = {**config["continual"]["phases"][phase], **plugin.training(settings, first), **settings.get("training", {})}
    return training_spec(
        config,
        f"phase {phase} ({name}, seed {seed})",
        "blocks",
        training,
        seed,
        adapter=Adapter(**{**adapter, "target_modules": tuple(adapter["target_modules"])}, merge=True) if adapter else None,
        strategy=settings,
        block_size=training["block_size"],
    )


def earlier_domains(config: dict, name: str, phase: str) -> list[str]:
    """The earlier domains whose training blocks the phase's strategy reads."""
    order = config["continual"]["order"]
    earlier = order[: order.index(phase)]
    plugin, _ = phase_strategy(config, name, phase)
    return {"none": [], "last": earlier[-1:], "all": earlier}[plugin.earlier_data]


def training_specs(config: dict) -> dict[str, TrainingSpec]:
    """Every phase of every strategy, on the first seed."""
    continual = config["continual"]
    return {
        f"continual.phases.{phase} (strategy {name})": continual_phase(config, name, continual["seeds"][0], phase)
        for name in continual["strategies"]
        for phase in continual["order"]
    }


def continual_headline(summary: dict) -> dict[str, float | None]:
    """From `summarise_runs`' summary: forgetting of each earlier domain, learning of the
    last, the final average loss; each strategy's mean over its seeds."""
    order = summary["order"]
    names = [f"forgetting_{domain}" for domain in order[:-1]] + [f"learning_{order[-1]}", "final_average_loss"]
    return {
        f"continual/{strategy}/{name}": figures["measures"][name]["mean"]
        for strategy, figures in summary["strategies"].items()
        for name in names
    }


EXPERIMENT = Experiment(
    name="continual",
    order=0,
    check=check_continual,
    training_specs=training_specs,
    metrics_file="continual/summary.json",
    headline=continual_headline,
    in_cross_matrix=True,
    check_settings=check_strategies,
)
