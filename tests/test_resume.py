"""A training job killed with SIGKILL resumes from its last checkpoint when the workflow
runs again, and ends with the same results as a run that was never interrupted."""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

import pytest

from conftest import PHASE_A_CHECKPOINTS

RUN = "results/continual/sequential/seed0"
LOG = "results/logs/train_phase/sequential/seed0/A.log"


def same_tree(a: Path, b: Path) -> bool:
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    differ = [str(f) for f in files if not filecmp.cmp(a / f, b / f, shallow=False)]
    assert not differ, differ
    return True


@pytest.mark.slow
def test_a_killed_phase_resumes_from_its_checkpoint_to_the_same_results(tiny_run, resumed_run):
    workdir, left = resumed_run
    # The kill came between checkpoint 1 and the phase's end: no model, no loss log.
    assert left == {"phase_a_outputs": [], "checkpoints": ["checkpoint-1"]}
    log = (workdir / LOG).read_text()
    assert f"resuming from checkpoint {PHASE_A_CHECKPOINTS}/checkpoint-1" in log, log
    assert not (workdir / PHASE_A_CHECKPOINTS).exists(), "the checkpoints are removed once the model is written"
    # Everything after it (both phases' models and loss logs, the evaluations, the
    # metrics) is byte-identical to the uninterrupted run's.
    assert same_tree(workdir / RUN, tiny_run / RUN)


def tiny_trainer(tmp_path, tiny_model_dir, tiny_tokenizer):
    """train(folder, callbacks): three steps of the tiny model on a few blocks, a
    checkpoint after each, into `folder`."""
    from lmtune.core.blocks import load_blocks, tokenize_to_dataset
    from lmtune.core.models import load_model
    from lmtune.core.training import TrainSettings, train_causal_lm

    text = ["la inteligencia artificial es un modelo de datos", "el reglamento de la universidad"] * 6
    tokenize_to_dataset(text, tiny_tokenizer, block_size=8).save_to_disk(str(tmp_path / "blocks"))
    blocks = load_blocks(tmp_path / "blocks")

    def train(folder, callbacks=()):
        folder.mkdir(exist_ok=True)
        return train_causal_lm(
            model=load_model(tiny_model_dir), tokenizer=tiny_tokenizer, train_data=blocks,
            out_dir=folder / "out", loss_log=folder / "loss.csv", checkpoint_dir=folder / "checkpoints",
            settings=TrainSettings(epochs=1, max_steps=3, batch_size=2, learning_rate=1e-3, save_steps=1),
            seed=0, progress=False, callbacks=callbacks,
        )

    return train


def kill_at_step_2():
    """A callback that stops training at step 2: checkpoint-1 complete, checkpoint-2 not begun."""
    from transformers import TrainerCallback

    class Kill(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 2:
                raise KeyboardInterrupt

    return Kill()


def same_weights(a: Path, b: Path) -> bool:
    from safetensors.torch import load_file

    first, second = load_file(a), load_file(b)
    return first.keys() == second.keys() and all((first[name] == second[name]).all() for name in first)


def test_a_checkpoint_cut_short_by_a_kill_is_not_resumed_from(tmp_path, tiny_model_dir, tiny_tokenizer):
    train = tiny_trainer(tmp_path, tiny_model_dir, tiny_tokenizer)
    train(tmp_path / "straight")
    interrupted = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        train(interrupted, [kill_at_step_2()])
    # What a kill during the save of checkpoint-2 leaves: part of the model, no optimizer
    # state, no trainer_state.json.
    first, cut = interrupted / "checkpoints/checkpoint-1", interrupted / "checkpoints/checkpoint-2"
    cut.mkdir()
    shutil.copy(first / "config.json", cut / "config.json")
    weights = (first / "model.safetensors").read_bytes()
    (cut / "model.safetensors").write_bytes(weights[: len(weights) // 2])

    train(interrupted)
    assert same_weights(tmp_path / "straight/out/model.safetensors", interrupted / "out/model.safetensors")


class Planted:
    """A pickle that would leave a mark if it ever ran."""

    def __init__(self, mark: Path):
        self.mark = mark

    def __reduce__(self):
        return (Path.touch, (self.mark,))


@pytest.mark.parametrize("damage", ["none", "weights cut short", "weights header cut", "optimizer state a pickle"])
def test_a_checkpoint_that_cannot_be_read_is_discarded_and_the_run_starts_afresh(
    damage, tmp_path, tiny_model_dir, tiny_tokenizer, caplog
):
    import torch

    train = tiny_trainer(tmp_path, tiny_model_dir, tiny_tokenizer)
    train(tmp_path / "straight")
    interrupted = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        train(interrupted, [kill_at_step_2()])
    checkpoint = interrupted / "checkpoints/checkpoint-1"
    weights, mark = checkpoint / "model.safetensors", tmp_path / "the pickle ran"
    if damage == "none":  # the check must pass what the Trainer wrote
        culprit = None
    elif damage == "weights cut short":
        weights.write_bytes(weights.read_bytes()[:-1000])
        culprit = "model.safetensors is cut short"
    elif damage == "weights header cut":
        weights.write_bytes(weights.read_bytes()[:50])
        culprit = "model.safetensors has no readable header"
    else:
        torch.save({"state": Planted(mark)}, checkpoint / "optimizer.pt")
        culprit = "optimizer.pt cannot be loaded (UnpicklingError"

    with caplog.at_level("INFO", logger="lmtune.core.training"):
        train(interrupted)
    if culprit is None:
        assert f"resuming from checkpoint {checkpoint}" in caplog.text and "cannot be resumed" not in caplog.text
    else:
        assert f"{checkpoint} cannot be resumed from: {culprit}" in caplog.text
        assert "resuming from" not in caplog.text and not mark.exists()
    assert same_weights(tmp_path / "straight/out/model.safetensors", interrupted / "out/model.safetensors")
