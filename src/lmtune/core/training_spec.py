"""What decides a training job's result besides its input model and data, in one value.

A `TrainingSpec` holds the objective (causal LM on token blocks, or completions with the
prompt masked), the adapter (none, LoRA, or LoRA on a 4-bit base), the continual strategy
whose pieces act at run time (data mixing, a loss term), the optimisation settings (with
the strategy's schedule folded in), the seed and the compute. Each experiment builds its
own from the validated config (its package's `experiment` module); the workflow passes it
to its one training script as the job's params, so it is also what a checkpoint must
match to be resumed (lmtune.core.training); lmtune.recipe.train runs any spec.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from lmtune.core.training import TrainSettings

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


def training_spec(config: dict, name: str, objective: str, settings: dict, seed: int, **pieces) -> TrainingSpec:
    """A job's spec from its optimisation `settings` (the schema's definitions/training)
    and the config's compute settings."""
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


def lora_adapter(lora: dict) -> Adapter:
    """An experiment's `lora` section (the schema's definitions/lora)."""
    return Adapter(
        r=lora["r"], alpha=lora["alpha"], dropout=lora["dropout"], target_modules=tuple(lora["target_modules"]),
        quantize_4bit=lora["quantize_4bit"],
    )
