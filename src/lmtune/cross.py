"""Every final model on every evaluation set: what does each fine-tune cost elsewhere?

Each model is scored by loss (mean NLL per predicted token) on each set: a domain's test
split and the Java held-out snippets in blocks, the arithmetic held-out prompts on their
reference answers only (the prompt is masked). Losses compare across models that share a
tokenizer; the change against the model's own base model compares across all.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .blocks import tokenize_to_dataset
from .corpus import read_corpus, split_paragraphs
from .instruct import encode_examples, padding_collator
from .jsonl import read_jsonl

log = logging.getLogger(__name__)


def load_evaluation_set(spec: dict, tokenizer):
    """The set `spec` describes, tokenized for `tokenizer`: (dataset, collate or None).

    spec: {"kind": "text", "path", "block_size"} (paragraphs), {"kind": "snippets",
    "path", "block_size"} (JSONL of {"code"}), or {"kind": "instructions", "path",
    "separator"} (JSONL of {"prompt", "answer"}).
    """
    kind, path = spec["kind"], spec["path"]
    if kind == "text":
        texts = split_paragraphs(read_corpus(path))
    elif kind == "snippets":
        texts = [record["code"] for record in read_jsonl(path)]
    elif kind == "instructions":
        pairs = [(r["prompt"], r["answer"]) for r in read_jsonl(path)]
        if not all(answer for _, answer in pairs):
            raise ValueError(f"{path} has prompts without a reference answer: regenerate it (rule generate_arithmetic_data)")
        dataset = encode_examples(tokenizer, pairs, spec["separator"]).remove_columns("length")
        return dataset, padding_collator(tokenizer)
    else:
        raise ValueError(f"unknown evaluation set kind {kind!r}")
    return tokenize_to_dataset(texts, tokenizer, spec["block_size"], source=path).with_format("torch"), None


def evaluate_everywhere(model, tokenizer, sets: dict[str, dict], batch_size: int) -> dict[str, dict]:
    from .evaluation import evaluate_lm  # imports torch, which gathering the matrix does not need

    results = {}
    for name, spec in sets.items():
        dataset, collate = load_evaluation_set(spec, tokenizer)
        results[name] = evaluate_lm(model, dataset, batch_size, collate=collate).to_dict()
        log.info("%s: %s", name, results[name])
    return results


def gather_results(models: dict[str, dict], set_names: list[str], computed: dict[str, dict]) -> dict[str, dict[str, dict]]:
    """model -> set -> evaluation, in the order of `models` and `set_names`: from the
    model's own cross evaluation (`computed`), or from the file another rule wrote for
    that pair (`models[model]["evaluations"][set]`)."""
    results = {}
    for model, spec in models.items():
        shared = spec.get("evaluations", {})
        results[model] = {
            name: json.loads(Path(shared[name]).read_text()) if name in shared else computed[model][name]
            for name in set_names
        }
    return results


def cross_rows(results: dict[str, dict[str, dict]], base_of: dict[str, str]) -> list[dict]:
    """One row per (model, set): loss, perplexity, and the change in loss against the
    model's base model (positive: the fine-tune made that set worse)."""
    return [
        {
            "model": model,
            "set": name,
            "loss": record["eval_loss"],
            "perplexity": record["eval_perplexity"],
            "tokens": record["eval_tokens"],
            "loss_change_vs_base": record["eval_loss"] - results[base_of[model]][name]["eval_loss"],
        }
        for model, per_set in results.items()
        for name, record in per_set.items()
    ]
