"""Every training job described once.

A `TrainingSpec` says all that decides a training job's result besides its input model
and data: the objective (causal LM on token blocks, or completions with the prompt
masked), the adapter (none, LoRA, or LoRA on a 4-bit base), the continual strategy whose
pieces act at run time (data mixing, a loss term), the optimisation settings (with the
strategy's schedule folded in), the seed and the compute. It is built here, in one place,
from the validated config; the workflow passes it to its one training script as the
job's params, so it is also what a checkpoint must match to be resumed
(lmtune.core.training); `train` runs any spec.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lmtune.continual.strategies import Strategy, StrategyError, strategy
from lmtune.continual.strategies.sequential import Sequential
from lmtune.core.training import TrainSettings

log = logging.getLogger(__name__)

OBJECTIVES = ("blocks", "completions")


@dataclass(frozen=True)
class Adapter:
    r: int
    alpha: float
    dropout: float
    target_modules: tuple[str, ...]
    quantize_4bit: bool = False  # QLoRA: the base is frozen in 4-bit nf4
    merge: bool = False  # write the model with the adapter merged in, not the adapter alone


@dataclass(frozen=True)
class TrainingSpec:
    name: str = field(compare=False)  # which run, in logs and error messages
    objective: str  # one of OBJECTIVES
    optimisation: TrainSettings
    seed: int
    device: str
    precision: str
    processes: int = 1  # data-parallel processes (lmtune.core.distributed)
    fsdp: bool = False  # the model sharded over them (CUDA)
    liger_kernel: bool = False  # Liger's Triton kernels in the model (CUDA)
    torch_compile: bool | str = False  # torch.compile's mode, or False (lmtune.core.compute)
    adapter: Adapter | None = None
    strategy: dict | None = None  # a continual strategy's settings; its mix and penalty act at run time
    packing: bool = False  # completions packed into one row per batch (CUDA), not padded and grouped by length
    block_size: int | None = None  # data from a token store is cut into blocks of this size as it loads

    @property
    def quantized(self) -> bool:
        return bool(self.adapter and self.adapter.quantize_4bit)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, spec: dict) -> "TrainingSpec":
        adapter = spec.get("adapter")
        return cls(
            **{
                **spec,
                "optimisation": TrainSettings(**spec["optimisation"]),
                "adapter": Adapter(**{**adapter, "target_modules": tuple(adapter["target_modules"])}) if adapter else None,
            }
        )


def _spec(config: dict, name: str, objective: str, settings: dict, seed: int, **pieces) -> TrainingSpec:
    compute = config["compute"]
    return TrainingSpec(
        name=name,
        objective=objective,
        optimisation=TrainSettings.from_config(settings),
        seed=seed,
        device=compute["device"],
        precision=compute["precision"],
        processes=compute["processes"],
        fsdp=compute["fsdp"],
        liger_kernel=compute["liger_kernel"],
        torch_compile=compute["torch_compile"],
        **pieces,
    )


# Continual pre-training: one phase per domain of `continual.order`, under a strategy.


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
    return _spec(
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


# The arithmetic LoRA, the two Java stages, and instruction tuning on the user's data.


def lora_adapter(lora: dict) -> Adapter:
    """An experiment's `lora` section (the schema's definitions/lora)."""
    return Adapter(
        r=lora["r"], alpha=lora["alpha"], dropout=lora["dropout"], target_modules=tuple(lora["target_modules"]),
        quantize_4bit=lora["quantize_4bit"],
    )


def arithmetic_lora(config: dict) -> TrainingSpec:
    section = config["arithmetic"]
    return _spec(config, "the arithmetic LoRA", "completions", section["training"], config["seed"], adapter=lora_adapter(section["lora"]))


def instruct(config: dict) -> TrainingSpec:
    """The instruct experiment: a LoRA adapter where the section has `lora`, else full
    fine-tuning; completions packed where `packing` says so."""
    section = config["instruct"]
    return _spec(
        config,
        "the instruct fine-tune",
        "completions",
        section["training"],
        config["seed"],
        adapter=lora_adapter(section["lora"]) if "lora" in section else None,
        packing=section["packing"],
    )


def java_autoregressive(config: dict) -> TrainingSpec:
    training = config["java"]["autoregressive"]
    return _spec(config, "Java stage 1 (autoregressive)", "blocks", training, config["seed"], block_size=training["block_size"])


def java_instruct(config: dict, run: str) -> TrainingSpec:
    return _spec(config, f"Java stage 2, run {run}", "completions", config["java"]["instruct_runs"][run], config["seed"])


def planned_specs(config: dict, experiments: list[str]) -> dict[str, TrainingSpec]:
    """dotted config key -> spec of every training job the config plans (first seed)."""
    specs = {}
    if "continual" in experiments:
        continual = config["continual"]
        for name in continual["strategies"]:
            for phase in continual["order"]:
                specs[f"continual.phases.{phase} (strategy {name})"] = continual_phase(config, name, continual["seeds"][0], phase)
    if "arithmetic" in experiments:
        specs["arithmetic.training"] = arithmetic_lora(config)
    if "java" in experiments:
        specs["java.autoregressive"] = java_autoregressive(config)
        for run in config["java"]["instruct_runs"]:
            specs[f"java.instruct_runs.{run}"] = java_instruct(config, run)
    if "instruct" in experiments:
        specs["instruct.training"] = instruct(config)
    return specs


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
