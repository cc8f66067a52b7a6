"""A training job killed with SIGKILL resumes from its last checkpoint when the workflow
runs again, and ends with the same results as a run that was never interrupted."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, clone_run, run_snakemake

# The sequential strategy's run of seed 0; its first phase is the one the other strategies
# share, and the tiny config trains it for two steps with a checkpoint after each.
RUN = "results/continual/sequential/seed0"
PHASE_A = f"{RUN}/A"
CHECKPOINTS = "results/continual/checkpoints/sequential/seed0/A"
LOG = "results/logs/train_phase/sequential/seed0/A.log"
# Only this run is rebuilt: the other strategies' phase B jobs would rerun too and cost
# minutes without testing anything more about resuming.
TARGET = f"{RUN}/metrics.json"


def snakemake_command(workdir: Path, *args: str) -> list[str]:
    """conftest.run_snakemake's command line, for a run this test interrupts."""
    return [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
            "--directory", str(workdir), "--cores", "2", *args]


def wait_for_checkpoint(process: subprocess.Popen, state: Path, step: int, timeout: float = 1200) -> None:
    """Until `state` (trainer_state.json, the last file transformers writes into a
    checkpoint) is complete: it parses and holds the checkpoint's step."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"snakemake ended ({process.returncode}) before checkpoint {step} was written")
        try:
            if json.loads(state.read_text())["global_step"] == step:
                return
        except (OSError, ValueError, KeyError):
            pass  # not there yet, or half written
        time.sleep(0.01)
    pytest.fail(f"no complete checkpoint {step} after {timeout} s")


def same_tree(a: Path, b: Path) -> bool:
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    differ = [str(f) for f in files if not filecmp.cmp(a / f, b / f, shallow=False)]
    assert not differ, differ
    return True


@pytest.mark.slow
def test_a_killed_phase_resumes_from_its_checkpoint_to_the_same_results(tiny_run, tmp_path):
    workdir = clone_run(tiny_run, tmp_path / "run")
    # Make the clone one where this run never finished: no phase A, nor anything after it.
    shutil.rmtree(workdir / RUN)

    with open(tmp_path / "interrupted.log", "w") as log:
        run = subprocess.Popen(
            snakemake_command(workdir, TARGET), stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONHASHSEED": "0"}, start_new_session=True,
        )
        try:
            wait_for_checkpoint(run, workdir / CHECKPOINTS / "checkpoint-1" / "trainer_state.json", step=1)
            os.killpg(run.pid, signal.SIGSTOP)  # freeze it where it is, then kill it all
        finally:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert not (workdir / PHASE_A / "model").exists() and not (workdir / PHASE_A / "train_loss.csv").exists()
    assert sorted(p.name for p in (workdir / CHECKPOINTS).glob("checkpoint-*")) == ["checkpoint-1"]

    # A killed Snakemake leaves its lock behind; the error message says to --unlock. The
    # atomic writes left no partial output, so no --rerun-incomplete is needed.
    run_snakemake(workdir, "--unlock")
    run_snakemake(workdir, TARGET)

    log = (workdir / LOG).read_text()
    assert f"resuming from checkpoint {CHECKPOINTS}/checkpoint-1" in log, log
    assert not (workdir / CHECKPOINTS).exists(), "the checkpoints are removed once the model is written"
    # Everything rebuilt (both phases' models and loss logs, the evaluations, the metrics)
    # is byte-identical to the uninterrupted run's.
    assert same_tree(workdir / RUN, tiny_run / RUN)
    metrics = sorted(p.relative_to(workdir) for p in (workdir / "results/continual").rglob("metrics.json"))
    assert metrics == sorted(p.relative_to(tiny_run) for p in (tiny_run / "results/continual").rglob("metrics.json"))
    assert all((workdir / p).read_bytes() == (tiny_run / p).read_bytes() for p in metrics)


def test_a_checkpoint_cut_short_by_a_kill_is_not_resumed_from(tmp_path, tiny_model_dir, tiny_tokenizer):
    from safetensors.torch import load_file
    from transformers import TrainerCallback

    from lmtune.blocks import load_blocks, tokenize_to_dataset
    from lmtune.models import load_model
    from lmtune.training import TrainSettings, train_causal_lm

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

    class Kill(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 2:  # before checkpoint-2 is saved
                raise KeyboardInterrupt

    train(tmp_path / "straight")
    interrupted = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        train(interrupted, [Kill()])
    # What a kill during the save of checkpoint-2 leaves: part of the model, no optimizer
    # state, no trainer_state.json.
    first, cut = interrupted / "checkpoints/checkpoint-1", interrupted / "checkpoints/checkpoint-2"
    cut.mkdir()
    shutil.copy(first / "config.json", cut / "config.json")
    weights = (first / "model.safetensors").read_bytes()
    (cut / "model.safetensors").write_bytes(weights[: len(weights) // 2])

    train(interrupted)
    expected = load_file(tmp_path / "straight/out/model.safetensors")
    resumed = load_file(interrupted / "out/model.safetensors")
    assert all((expected[name] == resumed[name]).all() for name in expected)
