"""Every final model on every evaluation set: what does each fine-tune cost elsewhere?

Each model is scored by loss (mean NLL per predicted token) on each set: a domain's test
split and the Java held-out snippets in blocks, the arithmetic held-out prompts on their
reference answers only (the prompt is masked). Losses compare across models that share a
tokenizer; the change against the model's own base model compares across all.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from lmtune.continual.corpus import read_corpus, split_paragraphs
from lmtune.core.jsonl import read_jsonl
from lmtune.experiments import registry

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

# The experiments whose final models and held-out sets make up the matrix, in order (each
# declares whether it is: lmtune.core.declaration).
MATRIX_EXPERIMENTS = tuple(name for name, experiment in registry().items() if experiment.in_cross_matrix)


class MatrixPlan:
    """The matrix's models and held-out sets, as each experiment's rules file adds its own
    (CROSS_MATRIX in workflow/rules/common.smk), in the experiments' order.

    `models`: model id -> {"model": folder, "adapter": folder or None, "base": base id,
    "evaluations": {set name: file}, "benchmarks": {task: file}}, where `evaluations` names
    the sets another rule already evaluates that model on (the same blocks and batch
    size) and `benchmarks` the benchmark tasks another rule runs on it, so that the matrix
    reads them rather than computing them again; the experiments' base models come first,
    one id per distinct folder (`base`, then `base_<experiment>`). `sets`: set name -> how
    to read and tokenize it (load_evaluation_set). `quantized`: the models whose adapter
    trained on a 4-bit base, loaded so."""

    def __init__(self, base_models: dict[str, str]):
        """base_models: experiment -> its base model's folder, for each experiment in the matrix."""
        ids: dict[str, str] = {}
        for experiment, folder in base_models.items():
            ids.setdefault(folder, "base" if not ids else f"base_{experiment}")
        self._base_of = {experiment: ids[folder] for experiment, folder in base_models.items()}
        self.models = {base_id: self._entry(folder, None, base_id) for folder, base_id in ids.items()}
        self.sets: dict[str, dict] = {}
        self.quantized: set[str] = set()

    @staticmethod
    def _entry(folder: str, adapter: str | None, base_id: str) -> dict:
        return {"model": folder, "adapter": adapter, "base": base_id, "evaluations": {}, "benchmarks": {}}

    def base_id(self, experiment: str) -> str:
        """The id of the experiment's base model."""
        return self._base_of[experiment]

    def add_model(self, model_id: str, experiment: str, folder: str, adapter: str | None = None, quantize_4bit: bool = False) -> None:
        """A final model of `experiment`: a model folder, or an adapter on it."""
        if model_id in self.models:
            raise ValueError(f"the cross matrix has a model {model_id!r} already")
        self.models[model_id] = self._entry(folder, adapter, self.base_id(experiment))
        if adapter and quantize_4bit:
            self.quantized.add(model_id)

    def add_set(self, name: str, spec: dict) -> None:
        """A held-out set (load_evaluation_set's `spec`)."""
        if name in self.sets:
            raise ValueError(f"the cross matrix has a set {name!r} already")
        self.sets[name] = spec

    def shared_evaluation(self, model_id: str, set_name: str, path: str) -> None:
        """Another rule's evaluation of the model on the set (its file), read, not computed again."""
        self.models[model_id]["evaluations"][set_name] = path

    def shared_benchmark(self, model_id: str, task: str, path: str) -> None:
        """Another rule's result of the model on a benchmark task (its file)."""
        self.models[model_id]["benchmarks"][task] = path


def load_evaluation_set(spec: dict, tokenizer):
    """The set `spec` describes, tokenized for `tokenizer`: (dataset, collate or None).

    spec: {"kind": "split", "path", "block_size", "max_tokens"} (a corpus split's test
    side, lmtune.core.splits, read again from the corpus and cut after max_tokens tokens
    as its tokenization cuts it), {"kind": "text", "path", "block_size"} (paragraphs), {"kind": "snippets",
    "path", "block_size"} (JSONL of {"code"}), or {"kind": "instructions", "path",
    "separator"} (instruction data, lmtune.instruct.data: every example whole).
    """
    # datasets: only the evaluation jobs tokenize; gathering the matrix needs none of it.
    from lmtune.core.blocks import tokenize_to_dataset
    from lmtune.core.completions import padding_collator
    from lmtune.instruct.data import read_examples
    from lmtune.instruct.encoding import encode_for_training

    kind, path = spec["kind"], spec["path"]
    if kind == "split":
        return _split_side_blocks(spec, tokenizer), None
    if kind == "text":
        texts = split_paragraphs(read_corpus(path))
    elif kind == "snippets":
        texts = [record["code"] for record in read_jsonl(path)]
    elif kind == "instructions":
        dataset, _ = encode_for_training(tokenizer, read_examples(path), separator=spec["separator"])
        return dataset.remove_columns("length"), padding_collator(tokenizer)
    else:
        raise ValueError(f"unknown evaluation set kind {kind!r}")
    return tokenize_to_dataset(texts, tokenizer, spec["block_size"], source=path).with_format("torch"), None


def _split_side_blocks(spec: dict, tokenizer):
    """The test side of a corpus split, tokenized for this model into a token store in a
    temporary folder (memory stays flat), its blocks loaded from there."""
    import tempfile

    from lmtune.core.splits import Split
    from lmtune.core.tokenstore import TokenBlocks, TokenStore, write_stores

    split = Split.read(spec["path"])
    folder = Path(tempfile.mkdtemp(prefix="lmtune-cross-"))
    documents = (("test", text) for text in split.side_documents("test"))
    write_stores(documents, tokenizer, {"test": folder}, split.characters["test"], {"test": spec.get("max_tokens")}, label=spec["path"])
    store = TokenStore(folder)
    # The mapping keeps the data readable after the folder's names are gone.
    shutil.rmtree(folder)
    return TokenBlocks(store, spec["block_size"])


def evaluate_everywhere(model, tokenizer, sets: dict[str, dict]) -> dict[str, dict]:
    """The model's loss on each set, in batches of the set's `batch_size` (its experiment's
    evaluation batch size)."""
    from lmtune.core.evaluation import evaluate_lm  # imports torch, which gathering the matrix does not need

    results = {}
    for name, spec in sets.items():
        dataset, collate = load_evaluation_set(spec, tokenizer)
        results[name] = evaluate_lm(model, dataset, spec["batch_size"], collate=collate).to_dict()
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


def benchmark_rows(results: dict[str, dict[str, dict]], base_of: dict[str, str]) -> list[dict]:
    """One row per (model, benchmark task): the task's figure (lmtune.core.benchmarks), its
    standard error, and the change against the model's base model as a gain (the score's
    change where higher is better, its negative where lower is: negative, the fine-tune
    cost that ability)."""
    rows = []
    for model, per_task in results.items():
        for task, figures in per_task.items():
            base = results[base_of[model]][task]
            sign = 1.0 if figures["higher_is_better"] else -1.0
            rows.append({
                "model": model,
                "task": task,
                "metric": figures["metric"],
                "score": figures["score"],
                "stderr": figures["stderr"],
                "examples": figures["examples"],
                "gain_vs_base": sign * (figures["score"] - base["score"]),
            })
    return rows


def plot_cross_matrix(table: pd.DataFrame, path: str | Path) -> None:
    """Models (rows) on evaluation sets (columns): colour is the change in loss against the
    model's base model, the cell text the loss."""
    import numpy as np

    from lmtune.core.plots import plt  # matplotlib: only the matrix job draws
    change = table.pivot(index="model", columns="set", values="loss_change_vs_base")
    loss = table.pivot(index="model", columns="set", values="loss")
    order = list(dict.fromkeys(table["model"]))
    change, loss = change.loc[order], loss.loc[order]
    limit = max(float(np.nanmax(np.abs(change.to_numpy()))), 1e-6)
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * change.shape[1], 1.2 + 0.45 * change.shape[0]))
    image = ax.imshow(change.to_numpy(), cmap="coolwarm", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(change.shape[1]), list(change.columns), rotation=20, ha="right")
    ax.set_yticks(range(change.shape[0]), order)
    for (i, j), value in np.ndenumerate(loss.to_numpy()):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, label="loss change vs the base model")
    ax.set_title("Every final model on every held-out set (loss)")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
