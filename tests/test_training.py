import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file

from lmtune.core.blocks import load_blocks, token_stream, tokenize_to_dataset
from lmtune.core.errors import TrainingError
from lmtune.core.models import load_model, load_tokenizer
from lmtune.core.training import TrainSettings, train_causal_lm

TEXT = ["la inteligencia artificial es un modelo de datos", "el reglamento de la universidad"] * 6


@pytest.fixture
def train_blocks(tmp_path, tiny_tokenizer):
    tokenize_to_dataset(TEXT, tiny_tokenizer, block_size=8).save_to_disk(str(tmp_path / "blocks"))
    return load_blocks(tmp_path / "blocks")


def run(model_dir, blocks, tmp_path, callbacks=(), **overrides):
    settings = TrainSettings(**{"epochs": 1, "max_steps": 3, "batch_size": 2, "learning_rate": 1e-3, **overrides})
    return train_causal_lm(
        model=load_model(model_dir),
        tokenizer=load_tokenizer(model_dir),
        train_data=blocks,
        out_dir=tmp_path / "out",
        loss_log=tmp_path / "loss.csv",
        checkpoint_dir=tmp_path / "checkpoints",
        settings=settings,
        seed=0,
        progress=False,
        callbacks=callbacks,
    )


def test_a_phase_writes_a_changed_model_and_its_loss_log(tmp_path, tiny_model_dir, train_blocks):
    summary = run(tiny_model_dir, train_blocks, tmp_path, save_steps=2)
    assert summary["steps"] == 3
    before = load_file(tiny_model_dir / "model.safetensors")
    after = load_file(tmp_path / "out" / "model.safetensors")
    assert any(not torch.equal(before[name], after[name]) for name in before)
    log = pd.read_csv(tmp_path / "loss.csv")
    assert list(log["step"]) == [1, 2, 3] and log["loss"].notna().all()
    assert not (tmp_path / "checkpoints").exists(), "checkpoints are removed once the model is written"


def test_checkpoints_are_saved_on_their_cadence_but_never_at_the_last_step(tmp_path, tiny_model_dir, train_blocks):
    """The last step's model is the phase's output: a checkpoint of it (model and optimizer
    state) would be written only to be deleted."""
    from transformers import TrainerCallback

    saved = []

    class Saves(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            saved.append(state.global_step)

    run(tiny_model_dir, train_blocks, tmp_path, callbacks=[Saves()], max_steps=4, save_steps=2)
    assert saved == [2]
    assert (tmp_path / "out" / "model.safetensors").is_file()


def test_a_nan_loss_stops_training_and_writes_no_model(tmp_path, tiny_model_dir, train_blocks):
    broken = tmp_path / "broken"
    broken.mkdir()
    for file in tiny_model_dir.iterdir():
        (broken / file.name).write_bytes(file.read_bytes())
    weights = load_file(broken / "model.safetensors")
    weights["model.norm.weight"][:] = float("nan")
    save_file(weights, broken / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(TrainingError, match="training loss became nan at step 1"):
        run(broken, train_blocks, tmp_path)
    assert not (tmp_path / "out").exists()


def test_an_interrupted_phase_resumes_from_its_checkpoint_to_the_same_model(tmp_path, tiny_model_dir, train_blocks):
    from transformers import TrainerCallback

    straight = tmp_path / "straight"
    straight.mkdir()
    run(tiny_model_dir, train_blocks, straight, max_steps=4, save_steps=2)

    class Crash(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 3:
                raise KeyboardInterrupt("simulated kill after the step-2 checkpoint")

    interrupted = tmp_path / "interrupted"
    interrupted.mkdir()
    with pytest.raises(KeyboardInterrupt):
        run(tiny_model_dir, train_blocks, interrupted, callbacks=[Crash()], max_steps=4, save_steps=2)
    assert (interrupted / "checkpoints" / "checkpoint-2").is_dir()
    assert not (interrupted / "out").exists()

    run(tiny_model_dir, train_blocks, interrupted, max_steps=4, save_steps=2)
    expected = load_file(straight / "out" / "model.safetensors")
    resumed = load_file(interrupted / "out" / "model.safetensors")
    assert all(torch.equal(expected[name], resumed[name]) for name in expected)
    # The loss log of the resumed run still covers every step.
    assert list(pd.read_csv(interrupted / "loss.csv")["step"]) == [1, 2, 3, 4]


def test_the_same_seed_gives_the_same_lora_adapter(tiny_model_dir):
    from lmtune.core.adapters import add_lora

    settings = {"r": 4, "alpha": 8, "dropout": 0.1, "target_modules": ["k_proj", "v_proj", "o_proj"]}

    def adapter(seed):
        model = add_lora(load_model(tiny_model_dir), settings, quantized=False, seed=seed)
        return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_A" in n}

    first, again, other = adapter(0), adapter(0), adapter(1)
    assert first and all(torch.equal(first[n], again[n]) for n in first)
    assert any(not torch.equal(first[n], other[n]) for n in first)


def test_the_log_reports_non_pad_tokens_per_second(tmp_path, tiny_model_dir, tiny_tokenizer, caplog):
    # A block size that leaves a padded tail block, so pad positions exist to be left out.
    stream = len(token_stream(TEXT, tiny_tokenizer))
    block_size = next(size for size in range(5, 16) if stream % size > 1)
    tokenize_to_dataset(TEXT, tiny_tokenizer, block_size=block_size).save_to_disk(str(tmp_path / "blocks"))
    blocks = load_blocks(tmp_path / "blocks")
    with caplog.at_level("INFO", logger="lmtune.core.training"):
        run(tiny_model_dir, blocks, tmp_path, max_steps=-1, epochs=1)
    line = next(r.getMessage() for r in caplog.records if "non-pad tokens/s" in r.getMessage())
    # One epoch sees every block once: every real token, no pad position.
    masks = blocks[:]["attention_mask"]
    assert int(line.split()[0]) == int(masks.sum()) < masks.numel()
