"""Studies on the tiny Llama: TensorBoard curves from a short Trainer run, and weight
interpolation between two model folders."""

from __future__ import annotations

import importlib.util
import math
import shutil

import pytest

from conftest import tiny_models
from lmtune.core.errors import ModelError
from lmtune.study.interpolation import read_weights, write_interpolated_model
from lmtune.core.tracking import TrackingError, tracking_arguments


def short_training(model_dir, out_dir, steps: int, **arguments) -> None:
    """`steps` optimizer steps of the tiny Llama on a few fixed blocks, logging each."""
    import torch
    from transformers import Trainer, TrainingArguments, default_data_collator

    from lmtune.core.models import load_model

    torch.manual_seed(0)
    ids = torch.randint(0, 1000, (8, 16))
    data = [{"input_ids": row, "attention_mask": torch.ones_like(row), "labels": row} for row in ids]
    args = TrainingArguments(output_dir=str(out_dir), max_steps=steps, per_device_train_batch_size=2, learning_rate=1e-3,
                             logging_steps=1, save_strategy="no", use_cpu=True, disable_tqdm=True, **arguments)
    Trainer(model=load_model(model_dir), args=args, train_dataset=data, data_collator=default_data_collator).train()


def test_tensorboard_tracking_writes_loss_learning_rate_and_gradient_norm(tmp_path, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.delenv("TENSORBOARD_LOGGING_DIR", raising=False)  # restored after the test
    log_dir = tmp_path / "results" / "tensorboard" / "phase_A"
    arguments = tracking_arguments("tensorboard", log_dir)
    assert arguments == {"report_to": ["tensorboard"]}
    short_training(tiny_models()["tiny-llama"], tmp_path / "checkpoints", steps=3, **arguments)

    assert list(log_dir.glob("events.out.tfevents.*")), f"no event file in {log_dir}: {list(tmp_path.rglob('*'))}"
    events = EventAccumulator(str(log_dir))
    events.Reload()
    for tag in ("train/loss", "train/learning_rate", "train/grad_norm"):
        scalars = events.Scalars(tag)
        assert [s.step for s in scalars] == [1, 2, 3], tag
        assert all(math.isfinite(s.value) for s in scalars), tag
    assert events.Scalars("train/loss")[0].value > 5  # a random model on a 49k-token vocabulary
    assert not (tmp_path / "checkpoints" / "runs").exists()  # not transformers' default place


def test_tracking_none_and_bad_kinds(tmp_path):
    assert tracking_arguments("none", tmp_path) == {"report_to": "none"}
    with pytest.raises(TrackingError, match="unknown tracking 'wandb'; expected one of none, tensorboard, mlflow"):
        tracking_arguments("wandb", tmp_path)


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is not None, reason="mlflow is installed here")
def test_mlflow_without_its_package_says_what_to_install(tmp_path):
    with pytest.raises(TrackingError, match="needs the Python package 'mlflow', which is not installed: pip install mlflow"):
        tracking_arguments("mlflow", tmp_path / "mlruns")


@pytest.fixture(scope="module")
def two_phases(tmp_path_factory):
    """The tiny Llama as "after A", and a copy with every weight moved as "after B"."""
    import torch
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("phases")
    after_a = shutil.copytree(tiny_models()["tiny-llama"], folder / "after_A")
    after_b = shutil.copytree(after_a, folder / "after_B")
    generator = torch.Generator().manual_seed(1)
    weights = {name: tensor + torch.randn(tensor.shape, generator=generator) for name, tensor in read_weights(after_a).items()}
    save_file(weights, after_b / "model.safetensors", metadata={"format": "pt"})
    return after_a, after_b


@pytest.mark.parametrize("alpha", [0.0, 1.0, 0.5])
def test_interpolation_between_two_folders(tmp_path, two_phases, alpha):
    import torch

    from lmtune.core.models import load_model

    after_a, after_b = two_phases
    out = write_interpolated_model(after_a, after_b, alpha, tmp_path / f"alpha{alpha}")
    a, b, mixed = read_weights(after_a), read_weights(after_b), read_weights(out)
    assert mixed.keys() == a.keys()
    for name in a:
        assert not torch.equal(a[name], b[name])
        if alpha == 0.0:
            assert torch.equal(mixed[name], a[name]), name
        elif alpha == 1.0:
            assert torch.equal(mixed[name], b[name]), name
        else:
            torch.testing.assert_close(mixed[name], (a[name] + b[name]) / 2, rtol=0, atol=1e-6)
    # A usable model folder: the start's config and tokenizer, the new weights.
    model = load_model(out)
    assert torch.equal(model.get_input_embeddings().weight.data, mixed["model.embed_tokens.weight"])
    assert (out / "tokenizer.json").exists() and (out / "interpolation.json").exists()


def test_interpolation_refuses_different_architectures_and_bad_alpha(tmp_path, two_phases):
    after_a, after_b = two_phases
    with pytest.raises(ModelError, match="cannot interpolate a llama model with a gpt2 model"):
        write_interpolated_model(after_a, tiny_models()["tiny-gpt2"], 0.5, tmp_path / "mixed")
    with pytest.raises(ModelError, match=r"alpha must lie in \[0, 1\]"):
        write_interpolated_model(after_a, after_b, 1.5, tmp_path / "mixed")
    assert not (tmp_path / "mixed").exists()
