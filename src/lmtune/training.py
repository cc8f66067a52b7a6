"""One training phase of a causal LM with transformers' Trainer.

Checkpoints go to a folder of their own, outside the phase's declared outputs (Snakemake
deletes those before a rerun), so a killed job resumes from its last checkpoint; the
folder is removed once the final model is written.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from dataclasses import dataclass, fields
from pathlib import Path

from . import atomic
from .errors import TrainingError
from .models import resolve_device

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    learning_rate: float = 5e-5
    batch_size: int = 8
    gradient_accumulation_steps: int = 1
    warmup_steps: float = 0.0  # < 1 is a fraction of the steps (transformers 5)
    weight_decay: float = 0.0
    lr_scheduler: str = "linear"
    save_steps: int = 500

    @classmethod
    def from_config(cls, settings: dict) -> "TrainSettings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in settings.items() if k in known})


def _nonfinite_loss_guard():
    from transformers import TrainerCallback

    class StopOnNonFiniteLoss(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(loss):
                raise TrainingError(
                    f"training loss became {loss} at step {state.global_step}: stopping with no "
                    "model written; lower the learning rate or check the data"
                )

    return StopOnNonFiniteLoss()


def _penalised_trainer():
    from transformers import Trainer

    class PenalisedTrainer(Trainer):
        """Adds `self.penalty(model)` to the loss, once per optimizer step."""

        penalty = None

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss, outputs = super().compute_loss(model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch)
            # Where the model normalises its loss by the accumulated token count, the
            # Trainer sums micro-batch losses unscaled: each carries a share of the penalty.
            summed = self.model_accepts_loss_kwargs and num_items_in_batch is not None
            share = self.current_gradient_accumulation_steps if summed else 1
            loss = loss + self.penalty(model) / share
            return (loss, outputs) if return_outputs else loss

    return PenalisedTrainer


def last_complete_checkpoint(checkpoint_dir: Path) -> str | None:
    """The newest checkpoint whose save finished, or None. The Trainer writes
    trainer_state.json last, so a folder without a readable one was cut short by a kill:
    it is removed, and the one before it is taken."""
    numbered = [(int(p.name.split("-")[1]), p) for p in checkpoint_dir.glob("checkpoint-*") if p.name.split("-")[1].isdigit()]
    for _, folder in sorted(numbered, reverse=True):
        try:
            json.loads((folder / "trainer_state.json").read_text())
            return str(folder)
        except (OSError, ValueError):
            log.warning("checkpoint %s was cut short (no complete trainer_state.json): removing it", folder)
            shutil.rmtree(folder, ignore_errors=True)
    return None


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
) -> dict:
    """Train `model` on `train_data`; write the final model (or adapter) to `out_dir`.

    `group_by_length` batches examples of similar length (the dataset's `length`
    column) so a padding collator pads little. `penalty(model)`, if given, is added to
    the loss of every optimizer step (L2-SP, EWC). `merge_adapter` writes a LoRA model
    with its adapter merged into the weights, rather than the adapter alone.
    """
    from transformers import Trainer, TrainingArguments, default_data_collator, set_seed

    PenalisedTrainer = _penalised_trainer()
    set_seed(seed)
    torch_device = resolve_device(device)
    checkpoint_dir = Path(checkpoint_dir)
    args = TrainingArguments(
        output_dir=str(checkpoint_dir),
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        per_device_train_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        learning_rate=settings.learning_rate,
        warmup_steps=settings.warmup_steps,
        weight_decay=settings.weight_decay,
        lr_scheduler_type=settings.lr_scheduler,
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
        report_to="none",
        disable_tqdm=not progress,
        dataloader_num_workers=0,
        train_sampling_strategy="group_by_length" if group_by_length else "random",
        include_num_input_tokens_seen="non_padding",  # for the tokens/s line of the log
    )
    trainer = (PenalisedTrainer if penalty else Trainer)(
        model=model,
        args=args,
        train_dataset=train_data,
        data_collator=data_collator or default_data_collator,
        processing_class=tokenizer,
        callbacks=[_nonfinite_loss_guard(), *callbacks],
    )
    if penalty:
        trainer.penalty = penalty
    last = last_complete_checkpoint(checkpoint_dir)
    if last:
        log.info("resuming from checkpoint %s", last)
    result = trainer.train(resume_from_checkpoint=last)
    tokens, seconds = trainer.state.num_input_tokens_seen, result.metrics["train_runtime"]
    log.info(
        "%d non-pad tokens in %.1f s: %.1f non-pad tokens/s%s", tokens, seconds, tokens / max(seconds, 1e-9),
        " (the count includes the steps before the resumed checkpoint)" if last else "",
    )
    final = trainer.model.merge_and_unload() if merge_adapter else trainer.model
    with atomic.directory(out_dir) as tmp:
        final.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    write_loss_log(trainer.state.log_history, loss_log)
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return {"steps": trainer.state.global_step, **result.metrics}
