"""One training phase of a causal LM with transformers' Trainer.

Checkpoints go to a folder of their own, outside the phase's declared outputs (Snakemake
deletes those before a rerun), so a killed job resumes from its last checkpoint; the
folder is removed once the final model is written. A checkpoint is resumed only under the
fingerprint it was written with (lmtune.core.fingerprint): change a setting, the input model or
data, or the code, and the old state is discarded with one log line naming what changed.
A non-finite loss, gradient or weight is never saved, and a run whose loss ends far above
where it began fails rather than passing as done.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from lmtune.core import atomic
from lmtune.core.compute import check_torch_compile, compile_mode
from lmtune.core.distributed import per_process_batch, trainer_arguments, world_size
from lmtune.core.errors import TrainingError
from lmtune.core.fingerprint import changes, code_version, normalise
from lmtune.core.models import check_compute, check_liger_kernel, copy_model_code, resolve_device

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    """The optimisation settings of one training run; the defaults live here only."""

    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    learning_rate: float = 5e-5
    batch_size: int = 8
    gradient_accumulation_steps: int = 1
    warmup_steps: float = 0.0  # < 1 is a fraction of the steps (transformers 5)
    weight_decay: float = 0.0
    lr_scheduler: str = "linear"
    lr_scheduler_kwargs: dict = field(default_factory=dict)  # e.g. {"min_lr_rate": 0.1} for cosine_with_min_lr
    save_steps: float = 500  # checkpoint every this many steps; < 1 a share of the job's steps
    save_minutes: float = 5.0  # also checkpoint once this many minutes passed since the last; 0: never by time
    divergence_ratio: float = 3.0  # fail when the final loss is above this multiple of the first; 0: off

    @classmethod
    def from_config(cls, settings: dict) -> "TrainSettings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in settings.items() if k in known})


def warmup_steps_of(warmup_steps: float, total_steps: int) -> int:
    """transformers' rule: a value below 1 is a share of the steps, rounded up."""
    return int(warmup_steps) if warmup_steps >= 1 else math.ceil(total_steps * warmup_steps)


def check_warmup(warmup_steps: float, total_steps: int) -> None:
    """A warm-up as long as the run never reaches the set learning rate; a single step
    trains at learning rate 0."""
    warmup = warmup_steps_of(warmup_steps, total_steps)
    if warmup_steps > 0 and warmup >= total_steps:
        raise TrainingError(
            f"warmup_steps {warmup_steps} makes {warmup} warm-up step(s) of the run's {total_steps}: "
            "the learning rate never reaches its set value"
            + (" (the only step trains at learning rate 0)" if total_steps == 1 else "")
            + "; lower warmup_steps, or set it to 0"
        )


def _training_guard(name: str, save_minutes: float):
    """Checks every step: a non-finite loss or gradient norm stops training before the step
    is saved, and so does a non-finite weight when a checkpoint is due. Also asks for a
    checkpoint once `save_minutes` have passed since the last one, and never saves one at
    the last step."""
    import torch
    from transformers import TrainerCallback

    class TrainingGuard(TrainerCallback):
        last_save = time.monotonic()

        def on_train_begin(self, args, state, control, **kwargs):
            try:
                check_warmup(args.warmup_steps, state.max_steps)
            except TrainingError as exc:
                raise TrainingError(f"{name}: {exc}") from None

        def on_step_end(self, args, state, control, **kwargs):
            if save_minutes and time.monotonic() - self.last_save >= 60 * save_minutes:
                control.should_save = True
            # The last step's model is the job's output, written right after training: a
            # checkpoint of it (the whole optimizer state too) would only be deleted.
            if state.global_step >= state.max_steps:
                control.should_save = False

        def on_save(self, args, state, control, **kwargs):
            self.last_save = time.monotonic()

        # The Trainer logs a step (every step: logging_steps=1) before it saves it.
        def on_log(self, args, state, control, logs=None, model=None, **kwargs):
            logs = logs or {}
            learning_rate = logs.get("learning_rate", args.learning_rate)
            for key, what in [("loss", "training loss"), ("grad_norm", "gradient norm")]:
                value = logs.get(key)
                if value is not None and not math.isfinite(value):
                    what = f"{what} became {value}"
                    break
            else:
                finite = not control.should_save or model is None or all(
                    torch.isfinite(p).all() for p in model.parameters() if p.requires_grad
                )
                if finite:
                    return
                what = "the weights became non-finite"
            raise TrainingError(
                f"{what} at step {state.global_step} of {name} (learning rate {learning_rate:.3g}): stopping "
                "with no checkpoint or model written; lower the learning rate or check the data"
            )

    return TrainingGuard()


def check_divergence(log_history: list[dict], ratio: float, name: str, learning_rate: float) -> None:
    """Fail when the mean loss of the last tenth of the logged steps is above `ratio` times
    the first step's loss: the run diverged, and its model is not worth keeping. The loss
    is the model's own, without a strategy's penalty (a strong anchor's penalty can dwarf
    it while the model is fine)."""
    losses = [entry["loss"] - entry.get("penalty", 0.0) for entry in log_history if "loss" in entry]
    if not ratio or len(losses) < 2:
        return
    tail = losses[-max(1, len(losses) // 10) :]
    final = sum(tail) / len(tail)
    if final > ratio * losses[0]:
        raise TrainingError(
            f"{name} diverged: its final training loss {final:.4g} is more than {ratio:g} times the first "
            f"({losses[0]:.4g}) at learning rate {learning_rate:g}; lower the learning rate, or raise "
            "divergence_ratio (0 turns this check off)"
        )


def _penalised_trainer():
    from transformers import Trainer

    class PenalisedTrainer(Trainer):
        """Adds `self.penalty(model)` to the loss, once per optimizer step, and logs the
        step's penalty beside the loss (the divergence guard judges the loss without it)."""

        penalty = None
        step_penalty = 0.0

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss, outputs = super().compute_loss(model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch)
            # Where the model normalises its loss by the accumulated token count, the
            # Trainer sums micro-batch losses unscaled: each carries a share of the penalty.
            summed = self.model_accepts_loss_kwargs and num_items_in_batch is not None
            share = self.current_gradient_accumulation_steps if summed else 1
            penalty = self.penalty(model) / share
            # The Trainer divides an unsummed micro-batch loss by the accumulation steps
            # before it logs the step: the penalty's part of the logged loss, likewise.
            self.step_penalty += float(penalty.detach()) / (1 if summed else self.current_gradient_accumulation_steps)
            loss = loss + penalty
            return (loss, outputs) if return_outputs else loss

        def log(self, logs, *args, **kwargs):
            if "loss" in logs:  # a step's log (logging_steps=1)
                logs["penalty"], self.step_penalty = self.step_penalty, 0.0
            super().log(logs, *args, **kwargs)

    return PenalisedTrainer


def checkpoint_problem(folder: Path) -> str | None:
    """Why a checkpoint cannot be resumed from, or None: its trainer_state.json (written
    last) parses, every safetensors file holds the bytes its header promises, and every
    pickled state (optimizer, schedule, random generators) loads as the Trainer loads it,
    with `weights_only` (a pickle that asks for anything else is refused, never run)."""
    import torch
    from transformers.trainer_pt_utils import safe_globals

    try:
        json.loads((folder / "trainer_state.json").read_text())
    except (OSError, ValueError):
        return "no complete trainer_state.json: the save was cut short"
    for path in sorted(folder.glob("*.safetensors")):
        try:
            with open(path, "rb") as stream:
                header_size = int.from_bytes(stream.read(8), "little")
                header = json.loads(stream.read(header_size))
            needed = 8 + header_size + max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            return f"{path.name} has no readable header ({type(exc).__name__})"
        if path.stat().st_size < needed:
            return f"{path.name} is cut short ({path.stat().st_size} of {needed} bytes)"
    # training_args.bin, a pickle of the arguments, is never loaded on resume: not judged.
    pickled = [*folder.glob("*.pt"), *folder.glob("*.pth"), *folder.glob("*.bin")]
    for path in sorted(p for p in pickled if p.name != "training_args.bin"):
        try:
            with safe_globals():
                torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception as exc:  # noqa: BLE001 - whatever stops the Trainer's own load
            return f"{path.name} cannot be loaded ({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''})"
    return None


def last_complete_checkpoint(checkpoint_dir: Path) -> str | None:
    """The newest checkpoint that can be resumed from, or None. One that cannot (a save
    cut short by a kill, a file truncated or replaced: `checkpoint_problem`) is removed
    with one log line naming the file and why, and the one before it is taken."""
    numbered = [(int(p.name.split("-")[1]), p) for p in checkpoint_dir.glob("checkpoint-*") if p.name.split("-")[1].isdigit()]
    for _, folder in sorted(numbered, reverse=True):
        problem = checkpoint_problem(folder)
        if problem is None:
            return str(folder)
        log.warning("checkpoint %s cannot be resumed from: %s; removing it", folder, problem)
        shutil.rmtree(folder, ignore_errors=True)
    return None


def resumable_checkpoint(checkpoint_dir: Path, fingerprint: dict) -> str | None:
    """The checkpoint to resume from: the newest complete one written under this same
    fingerprint. Checkpoints written under another are removed, with one log line naming
    what changed; the fingerprint is recorded for the checkpoints to come."""
    record = checkpoint_dir / "fingerprint.json"
    if checkpoint_dir.exists():
        try:
            recorded = json.loads(record.read_text())
        except (OSError, ValueError):
            recorded = None
        if recorded != fingerprint:
            if any(checkpoint_dir.glob("checkpoint-*")):
                log.warning(
                    "discarding the checkpoints in %s, written under another fingerprint: %s",
                    checkpoint_dir, "; ".join(changes(recorded, fingerprint)),
                )
            shutil.rmtree(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_text(record, json.dumps(fingerprint, indent=1, sort_keys=True))
    return last_complete_checkpoint(checkpoint_dir)


def write_loss_log(log_history: list[dict], path: str | Path) -> None:
    rows = [
        (entry["step"], entry["epoch"], entry["loss"], entry.get("learning_rate", ""))
        for entry in log_history
        if "loss" in entry
    ]
    lines = ["step,epoch,loss,learning_rate"] + [",".join(map(str, row)) for row in rows]
    atomic.write_text(path, "\n".join(lines) + "\n")


def train_causal_lm(
    model,
    tokenizer,
    train_data,
    out_dir: str | Path,
    loss_log: str | Path,
    checkpoint_dir: str | Path,
    settings: TrainSettings,
    seed: int,
    device: str = "cpu",
    precision: str = "fp32",
    progress: bool = True,
    callbacks: tuple = (),
    data_collator=None,
    group_by_length: bool = False,
    penalty=None,
    merge_adapter: bool = False,
    name: str = "training",
    identity: dict | None = None,
    fsdp: bool = False,
    liger_kernel: bool = False,
    torch_compile: bool | str = False,
    code_from: str | Path | None = None,
) -> dict:
    """Train `model` on `train_data`; write the final model (or adapter) to `out_dir`,
    with the Python files of `code_from` (the model folder) where its code is trusted.

    `name` says which run this is in error messages. `identity` holds what decides the
    result that this function cannot see (the job's settings, the content hashes of the
    model and data it was given: lmtune.pipeline.jobs.checkpoint_key); with the arguments here and
    the code version it makes the fingerprint a checkpoint must match to be resumed.

    `group_by_length` batches examples of similar length (the dataset's `length`
    column) so a padding collator pads little. `penalty(model)`, if given, is added to
    the loss of every optimizer step (L2-SP, EWC). `merge_adapter` writes a LoRA model
    with its adapter merged into the weights, rather than the adapter alone.
    `liger_kernel` puts Liger's Triton kernels into the model (CUDA; on an H200, a bf16
    LoRA step of a 7B model at 16 x 512 in a plain loop ran 1.24x faster with 21 % less
    memory). `torch_compile` (True or a mode) compiles the model with torch.compile.

    In a process group (lmtune.core.distributed.run_data_parallel) it trains
    data-parallel: each process takes its share of `settings.batch_size`, and one
    process (rank 0) decides what to resume from and writes the outputs.
    """
    from transformers import Trainer, TrainingArguments, default_data_collator, set_seed

    from lmtune.core.tracking import job_tracking

    PenalisedTrainer = _penalised_trainer()
    check_compute(device, precision)
    check_liger_kernel(liger_kernel, device)
    check_torch_compile(torch_compile, device)
    set_seed(seed)
    torch_device = resolve_device(device)
    checkpoint_dir = Path(checkpoint_dir)
    # TensorBoard or MLflow, as the workflow's environment says: not in the fingerprint.
    tracking = job_tracking(out_dir)
    args = TrainingArguments(
        output_dir=str(checkpoint_dir),
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        per_device_train_batch_size=per_process_batch(settings.batch_size, world_size()),
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        learning_rate=settings.learning_rate,
        warmup_steps=settings.warmup_steps,
        weight_decay=settings.weight_decay,
        lr_scheduler_type=settings.lr_scheduler,
        lr_scheduler_kwargs=dict(settings.lr_scheduler_kwargs),
        logging_steps=1,
        logging_nan_inf_filter=False,  # we want to see a NaN, not have it hidden
        save_strategy="steps",
        save_steps=settings.save_steps,
        save_total_limit=1,
        seed=seed,
        data_seed=seed,
        use_cpu=torch_device.type == "cpu",
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        **tracking,
        disable_tqdm=not progress,
        dataloader_num_workers=0,
        train_sampling_strategy="group_by_length" if group_by_length else "random",
        include_num_input_tokens_seen="non_padding",  # for the tokens/s line of the log
        use_liger_kernel=liger_kernel,
        torch_compile=bool(compile_mode(torch_compile)),
        torch_compile_mode=compile_mode(torch_compile),
        **trainer_arguments(device, fsdp),
    )
    trainer = (PenalisedTrainer if penalty else Trainer)(
        model=model,
        args=args,
        train_dataset=train_data,
        data_collator=data_collator or default_data_collator,
        processing_class=tokenizer,
        callbacks=[_training_guard(name, settings.save_minutes), *callbacks],
    )
    if penalty:
        trainer.penalty = penalty
    fingerprint = normalise(
        {
            "settings": asdict(settings),
            "seed": seed,
            "device": device,
            "precision": precision,
            "examples": len(train_data),
            "group_by_length": group_by_length,
            "merge_adapter": merge_adapter,
            "processes": world_size(),
            "fsdp": fsdp,
            "liger_kernel": liger_kernel,
            "torch_compile": torch_compile,
            "code": code_version(),
            "job": identity or {},
        }
    )
    # One process decides what to resume from (and clears stale state); the others follow.
    main = trainer.is_world_process_zero()
    last = resumable_checkpoint(checkpoint_dir, fingerprint) if main else None
    trainer.accelerator.wait_for_everyone()
    if not main:
        last = last_complete_checkpoint(checkpoint_dir)
    if last:
        log.info("resuming from checkpoint %s", last)
    try:
        result = trainer.train(resume_from_checkpoint=last)
        check_divergence(trainer.state.log_history, settings.divergence_ratio, name, settings.learning_rate)
    except TrainingError:
        # What is on disk led here: a rerun under the same fingerprint starts afresh.
        if main:
            shutil.rmtree(checkpoint_dir, ignore_errors=True)
        raise
    tokens, seconds = trainer.state.num_input_tokens_seen, result.metrics["train_runtime"]
    (log.info if main else log.debug)(  # the count is every process's: said once
        "%d non-pad tokens in %.1f s: %.1f non-pad tokens/s%s", tokens, seconds, tokens / max(seconds, 1e-9),
        " (the count includes the steps before the resumed checkpoint)" if last else "",
    )
    final = trainer.model.merge_and_unload() if merge_adapter else trainer.model
    if main:
        with atomic.directory(out_dir) as tmp:
            final.save_pretrained(tmp, safe_serialization=True)
            tokenizer.save_pretrained(tmp)
            if code_from is not None:
                copy_model_code(code_from, tmp)
        write_loss_log(trainer.state.log_history, loss_log)
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()  # no process ends before the model is written
    return {"steps": trainer.state.global_step, **result.metrics}
