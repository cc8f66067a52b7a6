"""The instruct experiment through the real workflow, on the tiny setting's 40 chat
conversations (`.test/data/chat_es_en.jsonl`, a LoRA adapter): the split, the length
decisions in the log, the figures, and the exported model."""

import json

import pytest
import yaml

from lmtune.core.jsonl import read_jsonl
from lmtune.instruct.data import read_examples

from conftest import REPO

pytestmark = pytest.mark.slow

INSTRUCT = "results/instruct"


def test_the_split_is_written_normalised_and_counted(tiny_run):
    source = read_examples(REPO / ".test/data/chat_es_en.jsonl")
    train = read_examples(tiny_run / INSTRUCT / "data/train.jsonl")
    validation = read_examples(tiny_run / INSTRUCT / "data/validation.jsonl")
    assert (len(train), len(validation)) == (32, 8)  # validation_fraction 0.2 of 40
    assert sorted(train + validation, key=source.index) == source and not set(train) & set(validation)
    log = (tiny_run / "results/logs/prepare_instruct_data.log").read_text()
    assert "32 training and 8 validation examples; 0 of the validation examples also in training" in log


def test_over_long_examples_are_counted_in_the_tokenize_log(tiny_run):
    import datasets

    # max_length 64 drops the conversations with a system turn or two exchanges that run longer.
    log = (tiny_run / "results/logs/tokenize_instruct/train.log").read_text()
    assert "kept 28 of 32 examples (max_length 64): 4 longer dropped, 0 truncated" in log
    tokens = datasets.load_from_disk(str(tiny_run / INSTRUCT / "tokens/train"))
    assert len(tokens) == 28 and max(tokens["length"]) <= 64


def test_metrics_hold_validation_loss_exact_match_and_chrf(tiny_run):
    metrics = json.loads((tiny_run / INSTRUCT / "metrics.json").read_text())
    validation = metrics["validation"]
    assert validation["eval_tokens"] > 0 and validation["eval_perplexity"] == pytest.approx(2.718281828 ** validation["eval_loss"])
    generation = metrics["generation"]
    assert generation["count"] == 8 and 0 <= generation["exact_match"] <= 1 and 0 <= generation["chrf"] <= 100
    scored = read_jsonl(tiny_run / INSTRUCT / "scored/validation.jsonl")
    references = [e.reference for e in read_examples(tiny_run / INSTRUCT / "data/validation.jsonl")]
    assert [r["reference"] for r in scored] == references
    # A conversation's query is every turn before its last assistant turn.
    assert all(r["query"][-1]["role"] == "user" for r in scored)
    assert generation["exact_match"] == sum(r["exact_match"] for r in scored) / len(scored)


def test_the_export_loads_with_plain_transformers_and_matches_the_adapter_model(tiny_run, tiny_tokenizer):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base_dir = yaml.safe_load((tiny_run / "config.yaml").read_text())["base_model"]["source"]
    export = tiny_run / INSTRUCT / "export"
    assert not list(export.glob("adapter*"))
    exported = AutoModelForCausalLM.from_pretrained(export, dtype=torch.float32).eval()
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32).eval()
    ids = tiny_tokenizer.apply_chat_template(
        [{"role": "user", "content": "¿Cuál es la capital de España?"}], add_generation_prompt=True, return_tensors="pt", return_dict=True,
    )["input_ids"]
    with torch.no_grad():
        plain = base(ids).logits
        adapted = PeftModel.from_pretrained(base, str(tiny_run / INSTRUCT / "adapter")).eval()(ids).logits
        merged = exported(ids).logits
    assert (adapted - plain).abs().max() > 1e-3  # two steps at 1e-2 moved the adapter
    # fp32: the merged weight W + s·BA rounds differently from W·x + s·B(A·x).
    assert torch.allclose(merged, adapted, atol=1e-4, rtol=0)
    assert AutoTokenizer.from_pretrained(export).chat_template == tiny_tokenizer.chat_template
