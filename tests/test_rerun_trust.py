"""Reruns you can trust (issue 12): a checkpoint is resumed only under the fingerprint it
was written with, nothing non-finite is ever saved, a diverged or never-warmed-up run
fails, and a checkpoint is written often enough for an interrupted run to resume."""

from __future__ import annotations

import importlib.util
import logging

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from lmtune.core.blocks import load_blocks, tokenize_to_dataset
from lmtune.core.errors import ModelError, TrainingError
from lmtune.core.fingerprint import changes, content_hash
from lmtune.core.models import check_compute, check_liger_kernel, load_model, load_tokenizer
from lmtune.core.training import TrainSettings, train_causal_lm

from conftest import kill_at_first_checkpoint, run_snakemake, tiny_config, write_config

TEXT = ["la inteligencia artificial es un modelo de datos", "el reglamento de la universidad"] * 6


@pytest.fixture
def train_blocks(tmp_path, tiny_tokenizer):
    tokenize_to_dataset(TEXT, tiny_tokenizer, block_size=8).save_to_disk(str(tmp_path / "blocks"))
    return load_blocks(tmp_path / "blocks")


def train(model_dir, blocks, folder, callbacks=(), identity=None, liger_kernel=False, **overrides):
    folder.mkdir(exist_ok=True)
    settings = {"epochs": 1, "max_steps": 4, "batch_size": 2, "learning_rate": 1e-3, "save_steps": 1, **overrides}
    return train_causal_lm(
        model=load_model(model_dir), tokenizer=load_tokenizer(model_dir), train_data=blocks,
        out_dir=folder / "out", loss_log=folder / "loss.csv", checkpoint_dir=folder / "checkpoints",
        settings=TrainSettings(**settings), seed=0, progress=False, callbacks=callbacks,
        name="phase A (test)", identity=identity, liger_kernel=liger_kernel,
    )


def crash_at(step):
    from transformers import TrainerCallback

    class Crash(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == step:
                raise KeyboardInterrupt(f"simulated kill at step {step}")

    return Crash()


def same_weights(a, b) -> bool:
    first, second = load_file(a / "out/model.safetensors"), load_file(b / "out/model.safetensors")
    return all(torch.equal(first[name], second[name]) for name in first)


def test_a_checkpoint_written_under_another_learning_rate_is_discarded(tmp_path, tiny_model_dir, train_blocks, caplog):
    """Point 1: kill after a checkpoint, change the learning rate, rerun: the phase trains
    from scratch at the new rate, to the model a fresh run at that rate gives."""
    interrupted = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        train(tiny_model_dir, train_blocks, interrupted, callbacks=[crash_at(3)], learning_rate=1e-3)
    assert (interrupted / "checkpoints/checkpoint-2").is_dir()

    with caplog.at_level(logging.INFO, logger="lmtune.core.training"):
        train(tiny_model_dir, train_blocks, interrupted, learning_rate=5e-4)
    discarded = [r.getMessage() for r in caplog.records if "discarding the checkpoints" in r.getMessage()]
    assert len(discarded) == 1 and "settings.learning_rate 0.001 -> 0.0005" in discarded[0], discarded
    assert not any("resuming" in r.getMessage() for r in caplog.records)

    fresh = tmp_path / "fresh"
    train(tiny_model_dir, train_blocks, fresh, learning_rate=5e-4)
    assert same_weights(interrupted, fresh)
    log = pd.read_csv(interrupted / "loss.csv")
    assert list(log["step"]) == [1, 2, 3, 4]
    assert log["learning_rate"].max() <= 5e-4, "no step trained at the old learning rate"
    assert log.equals(pd.read_csv(fresh / "loss.csv"))


def test_a_checkpoint_of_other_input_content_is_discarded_and_the_same_one_resumed(tmp_path, tiny_model_dir, train_blocks, caplog):
    """The job's identity (its inputs' content hashes) is part of the fingerprint; an
    unchanged one resumes."""
    folder = tmp_path / "run"
    old = {"inputs": {"model": "a" * 64, "tokens": "c" * 64}}
    new = {"inputs": {"model": "b" * 64, "tokens": "c" * 64}}
    for identity in [old, new]:
        with pytest.raises(KeyboardInterrupt):
            train(tiny_model_dir, train_blocks, folder, callbacks=[crash_at(3)], identity=identity)
    messages = [r.getMessage() for r in caplog.records]
    assert any("discarding" in m and "job.inputs.model (content)" in m and "tokens" not in m for m in messages), messages
    with caplog.at_level(logging.INFO, logger="lmtune.core.training"):
        train(tiny_model_dir, train_blocks, folder, identity=new)
    assert any("resuming from checkpoint" in r.getMessage() for r in caplog.records)
    straight = tmp_path / "straight"
    train(tiny_model_dir, train_blocks, straight, identity=new)
    assert same_weights(folder, straight)


def test_content_hash_and_changes(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m/config.json").write_text("{}")
    before = content_hash(tmp_path / "m")
    (tmp_path / "m/config.json").write_text('{"a": 1}')
    assert content_hash(tmp_path / "m") != before
    assert changes({"settings": {"lr": 1, "steps": 2}}, {"settings": {"lr": 2, "steps": 2}}) == ["settings.lr 1 -> 2"]
    assert changes(None, {"x": 1}) == ["no fingerprint was recorded with them"]


def test_weights_that_went_non_finite_are_never_checkpointed(tmp_path, tiny_model_dir, train_blocks):
    """The loss of a step can be finite while its update left NaN weights behind: such a
    checkpoint would be resumed, and fail, on every rerun."""
    from transformers import TrainerCallback

    class BreakWeights(TrainerCallback):
        def on_optimizer_step(self, args, state, control, model=None, **kwargs):
            if state.global_step == 1:  # the update of step 2 (global_step counts finished steps)
                with torch.no_grad():
                    next(model.parameters())[0, 0] = float("nan")

    with pytest.raises(TrainingError, match=r"the weights became non-finite at step 2 of phase A \(test\) \(learning rate"):
        train(tiny_model_dir, train_blocks, tmp_path / "run", callbacks=[BreakWeights()])
    assert not (tmp_path / "run/checkpoints").exists() and not (tmp_path / "run/out").exists()


def test_a_nan_loss_names_the_run_step_and_learning_rate(tmp_path, tiny_model_dir, train_blocks):
    model = load_model(tiny_model_dir)

    def nan_at_second_call(module, args, kwargs, output, calls=[]):
        calls.append(1)
        if len(calls) >= 2:
            output["loss"] = output["loss"] * float("nan")
        return output

    model.register_forward_hook(nan_at_second_call, with_kwargs=True)
    folder = tmp_path / "run"
    with pytest.raises(TrainingError, match=r"training loss became nan at step 2 of phase A \(test\) \(learning rate 0\.0007"):
        train_causal_lm(
            model=model, tokenizer=load_tokenizer(tiny_model_dir), train_data=train_blocks,
            out_dir=folder / "out", loss_log=folder / "loss.csv", checkpoint_dir=folder / "checkpoints",
            settings=TrainSettings(max_steps=4, batch_size=2, learning_rate=1e-3, save_steps=1),
            seed=0, progress=False, name="phase A (test)",
        )
    # Step 1's checkpoint was written before the loss went NaN; it is not left to resume.
    assert not (folder / "checkpoints").exists() and not (folder / "out").exists()


def test_a_diverging_run_fails_rather_than_passing_as_done(tmp_path, tiny_model_dir, train_blocks):
    """Point 9: learning rate 10 sends the loss far above where it began."""
    with pytest.raises(TrainingError, match=r"phase A \(test\) diverged: its final training loss .* is more than 3 times the first .* at learning rate 10;"):
        train(tiny_model_dir, train_blocks, tmp_path / "run", learning_rate=10.0, max_steps=12, save_steps=500)
    assert not (tmp_path / "run/out").exists() and not (tmp_path / "run/checkpoints").exists()
    # The guard is a setting: 0 turns it off.
    train(tiny_model_dir, train_blocks, tmp_path / "off", learning_rate=10.0, max_steps=12, save_steps=500, divergence_ratio=0)
    assert (tmp_path / "off/out/model.safetensors").is_file()


def test_a_warm_up_that_covers_every_step_is_refused(tmp_path, tiny_model_dir, train_blocks):
    """Point 9: one step with a warm-up ratio trains at learning rate 0."""
    with pytest.raises(TrainingError, match=r"warmup_steps 0.1 makes 1 warm-up step\(s\) of the run's 1.*learning rate 0"):
        train(tiny_model_dir, train_blocks, tmp_path / "run", max_steps=1, warmup_steps=0.1)


def test_fp16_without_a_gpu_is_refused():
    """Point 9: fp16 on a CPU would quietly train in fp32."""
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ModelError, match="compute.precision fp16 needs a CUDA device"):
        check_compute("cpu", "fp16")
    with pytest.raises(ModelError, match="compute.device is 'cuda' but torch"):
        check_compute("cuda", "fp32")
    check_compute("auto", "fp32")


def test_liger_kernels_are_refused_where_they_cannot_run(tmp_path, tiny_model_dir, train_blocks):
    """Liger's kernels are Triton kernels for CUDA, from a package lmtune does not install:
    the setting is refused on a CPU (also by the training itself, before any step) and
    without the package; on a cluster only a CPU setting is judged from the login node."""
    if torch.cuda.is_available() or importlib.util.find_spec("liger_kernel"):
        pytest.skip("this machine has a GPU or liger-kernel")
    check_liger_kernel(False, "cpu")
    for device, here in [("cpu", True), ("cpu", False), ("auto", True)]:
        with pytest.raises(ModelError, match=rf"^compute.liger_kernel is True but training runs on the CPU \(compute.device '{device}'\)"):
            check_liger_kernel(True, device, here=here)
    check_liger_kernel(True, "cuda", here=False)
    with pytest.raises(ModelError, match=r"the liger-kernel package is not installed: pip install liger-kernel"):
        check_liger_kernel(True, "cuda")
    with pytest.raises(ModelError, match="compute.liger_kernel is True but training runs on the CPU"):
        train(tiny_model_dir, train_blocks, tmp_path / "run", liger_kernel=True)
    assert not (tmp_path / "run/checkpoints").exists()


@pytest.mark.parametrize("cadence", [{"save_steps": 0.5}, {"save_steps": 500, "save_minutes": 1e-6}], ids=["share", "time"])
def test_a_checkpoint_cadence_by_share_or_time_lets_a_short_run_resume(tmp_path, tiny_model_dir, train_blocks, cadence, caplog):
    """Point 2: with a step cadence longer than the run (the old default: 50 steps of 11),
    a share of the run or a time interval still leaves a checkpoint to resume from."""
    folder = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(tiny_model_dir, train_blocks, folder, callbacks=[crash_at(3)], **cadence)
    assert list((folder / "checkpoints").glob("checkpoint-2")), list((folder / "checkpoints").iterdir())
    with caplog.at_level(logging.INFO, logger="lmtune.core.training"):
        train(tiny_model_dir, train_blocks, folder, **cadence)
    assert any("resuming from checkpoint" in r.getMessage() and "checkpoint-2" in r.getMessage() for r in caplog.records)
    straight = tmp_path / "straight"
    train(tiny_model_dir, train_blocks, straight, **cadence)
    assert same_weights(folder, straight)


# --- the same through the workflow: kill, change, rerun, compare with a fresh run -------

PHASE_A = "results/continual/sequential/seed0/A"
CHECKPOINTS = "results/continual/checkpoints/sequential/seed0/A"


def small_continual_config(workdir, model_dir, learning_rate):
    """The tiny config's continual experiment on the tiny model, one strategy, and a phase A
    long enough (checkpointed every step) for the test to kill it part-way."""
    config = tiny_config()
    del config["arithmetic"], config["java"], config["instruct"]
    config["base_model"] = {"source": str(model_dir)}
    config["continual"]["strategies"] = {"sequential": {"method": "sequential"}}
    config["continual"]["phases"]["A"].update(max_steps=12, save_steps=1, learning_rate=learning_rate)
    return config


@pytest.mark.slow
def test_a_killed_phase_rerun_with_a_new_learning_rate_equals_a_fresh_run(tmp_path, tiny_model_dir):
    target = f"{PHASE_A}/eval/A.json"
    workdir = tmp_path / "changed"
    workdir.mkdir()
    write_config(workdir, small_continual_config(workdir, tiny_model_dir, 1.0e-4))
    kill_at_first_checkpoint(workdir, CHECKPOINTS, target)
    assert not (workdir / PHASE_A / "model").exists()

    write_config(workdir, small_continual_config(workdir, tiny_model_dir, 5.0e-4))
    run_snakemake(workdir, "--unlock")
    run_snakemake(workdir, target)
    log = (workdir / "results/logs/train_phase/sequential/seed0/A.log").read_text()
    assert "discarding the checkpoints" in log and "learning_rate 0.0001 -> 0.0005" in log, log
    assert "resuming from checkpoint" not in log

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    write_config(fresh, small_continual_config(fresh, tiny_model_dir, 5.0e-4))
    run_snakemake(fresh, target)
    for name in ["eval/A.json", "train_loss.csv", "model/model.safetensors"]:
        assert (workdir / PHASE_A / name).read_bytes() == (fresh / PHASE_A / name).read_bytes(), name
    assert pd.read_csv(workdir / PHASE_A / "train_loss.csv")["learning_rate"].max() <= 5.0e-4
