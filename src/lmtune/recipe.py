"""Every training job described once, and run.

Each experiment builds its jobs' `TrainingSpec`s (lmtune.core.training_spec) from the
validated config in its own package (`<experiment>.experiment`; they are named here too,
where the rules and the pipeline ask for them); `planned_specs` gathers every one a config
plans. The workflow passes a spec to its one training script as the job's params, so it is
also what a checkpoint must match to be resumed (lmtune.core.training); `train` runs any
spec.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

from lmtune.continual.strategies import strategy
from lmtune.core.training_spec import OBJECTIVES, Adapter, TrainingSpec, lora_adapter  # noqa: F401
from lmtune.experiments import registry

# The experiments' builders, named here as the rules and lmtune.pipeline call them.
from lmtune.arithmetic.experiment import arithmetic_lora  # noqa: F401, E402
from lmtune.continual.experiment import continual_phase, earlier_domains, phase_strategy, strategy_settings  # noqa: F401, E402
from lmtune.instruct.experiment import instruct  # noqa: F401, E402
from lmtune.java.experiment import java_autoregressive, java_instruct  # noqa: F401, E402

log = logging.getLogger(__name__)


def planned_specs(config: dict, experiments: list[str]) -> dict[str, dict[str, TrainingSpec]]:
    """experiment -> {dotted config key: spec} of every training job the config plans
    (first seed), for each of `experiments`."""
    return {name: registry()[name].training_specs(config) for name in experiments}


def model_to_train(spec: TrainingSpec, model: str | Path):
    """`model` (a folder) loaded as the spec trains it: fp32 weights (the Trainer computes
    in the spec's precision), or a frozen 4-bit base under a QLoRA adapter."""
    from lmtune.core.adapters import load_for_training

    return load_for_training(model, spec.device, spec.precision, quantize_4bit=spec.quantized)


def add_adapter(spec: TrainingSpec, network):
    """The spec's LoRA adapter on `network`, or `network` itself where it has none."""
    from lmtune.core.adapters import add_lora

    if not spec.adapter:
        return network
    network = add_lora(network, asdict(spec.adapter), quantized=spec.quantized, seed=spec.seed)
    trainable, total = network.get_nb_trainable_parameters()
    log.info("LoRA: %d of %d parameters train (%.2f%%)", trainable, total, 100 * trainable / total)
    return network


def collator(spec: TrainingSpec, tokenizer, network):
    """Completions vary in length: packed into one row per batch where the spec says so
    (CUDA), else padded per batch (and batched by length). Blocks are all one length
    already: None, the Trainer's default collator."""
    from lmtune.core.completions import packing_collator, padding_collator

    if spec.objective != "completions":
        return None
    return packing_collator(network) if spec.packing else padding_collator(tokenizer)


def training_data(path: str | Path, block_size: int | None):
    """A token store's blocks, cut at `block_size` as they load, or a saved `datasets` table."""
    import datasets

    from lmtune.core.tokenstore import TokenBlocks, is_store

    if is_store(path):
        return TokenBlocks(path, block_size)
    return datasets.load_from_disk(str(path))


def train(
    spec: TrainingSpec,
    model: str | Path,
    data: str | Path,
    out_dir: str | Path,
    loss_log: str | Path,
    checkpoint_dir: str | Path,
    earlier_data: list = (),
    identity: dict | None = None,
    progress: bool = True,
) -> dict:
    """Run one training job: `model` (a folder) trained on `data` (a saved dataset of
    token blocks or encoded completions) as `spec` says; `earlier_data`, the earlier
    domains' blocks its strategy reads."""
    from lmtune.core.models import load_tokenizer
    from lmtune.core.training import train_causal_lm

    if spec.objective not in OBJECTIVES:
        raise ValueError(f"{spec.name}: unknown objective {spec.objective!r}; known: {', '.join(OBJECTIVES)}")
    log.info("%s: %s from %s on %s", spec.name, spec, model, data)
    network = model_to_train(spec, model)
    tokenizer = load_tokenizer(model)
    train_data = training_data(data, spec.block_size)
    earlier = [training_data(path, spec.block_size) for path in earlier_data]
    penalty = None
    if spec.strategy:
        plugin = strategy(spec.strategy["method"])
        train_data = plugin.mix(train_data, earlier, spec.strategy, spec.seed)
        penalty = plugin.penalty(network, earlier, spec.strategy, spec.seed)
    network = add_adapter(spec, network)
    return train_causal_lm(
        model=network,
        tokenizer=tokenizer,
        train_data=train_data,
        out_dir=out_dir,
        loss_log=loss_log,
        checkpoint_dir=checkpoint_dir,
        settings=spec.optimisation,
        seed=spec.seed,
        device=spec.device,
        precision=spec.precision,
        progress=progress,
        data_collator=collator(spec, tokenizer, network),
        group_by_length=spec.objective == "completions" and not spec.packing,
        penalty=penalty,
        merge_adapter=bool(spec.adapter and spec.adapter.merge),
        name=spec.name,
        identity=identity,
        fsdp=spec.fsdp,
        liger_kernel=spec.liger_kernel,
        torch_compile=spec.torch_compile,
        code_from=model,
    )
