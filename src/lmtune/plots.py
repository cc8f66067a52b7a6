"""Figures of the continual pre-training experiment."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: jobs run without a display
import matplotlib.pyplot as plt
import pandas as pd

from .metrics import stage_names


def _finish(fig, ax, path, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_perplexity(metrics: dict, path: str | Path) -> None:
    """Perplexity on each domain at every stage, one line per domain."""
    order = metrics["continual"]["order"]
    stages = stage_names(order)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for index, domain in enumerate(order):
        values = [metrics[f"{stage}_{domain}"]["eval_perplexity"] for stage in stages]
        ax.plot(stages, values, marker="o", label=f"test {domain}")
        for x, y in zip(stages, values):
            ax.annotate(f"{y:.1f}", (x, y), textcoords="offset points", xytext=(0, 7 if index % 2 == 0 else -13), ha="center", fontsize=8)
    _finish(fig, ax, path, "stage", "perplexity (lower is better)", "Perplexity per domain through continual pre-training")


def plot_training_loss(loss_logs: dict[str, str | Path], path: str | Path) -> None:
    """Training loss per step, phases laid end to end."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    offset = 0
    for phase, log_file in loss_logs.items():
        frame = pd.read_csv(log_file)
        ax.plot(frame["step"] + offset, frame["loss"], marker=".", label=f"phase {phase}")
        offset += int(frame["step"].max()) if len(frame) else 0
    _finish(fig, ax, path, "optimizer step (cumulative)", "training loss", "Training loss per phase")


def plot_error_by_target(generations: dict[str, list[dict]], path: str | Path) -> None:
    """Signed error of the written sum against the target, per model; one panel per set."""
    sets = sorted({r["set"] for records in generations.values() for r in records})
    fig, axes = plt.subplots(1, len(sets), figsize=(4.2 * len(sets), 4.0), squeeze=False, sharey=True)
    for ax, eval_set in zip(axes[0], sets):
        for marker, (variant, records) in zip("os^v", generations.items()):
            rows = [r for r in records if r["set"] == eval_set]
            parsed = [r for r in rows if r["parsed_sum"] is not None]
            ax.scatter(
                [r["target"] for r in parsed],
                [r["parsed_sum"] - r["target"] for r in parsed],
                marker=marker,
                alpha=0.7,
                label=f"{variant} ({len(rows) - len(parsed)} unparsable)",
            )
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_title(eval_set)
        ax.set_xlabel("target")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("written sum − target")
    fig.suptitle("Arithmetic: error of the sum by target")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_java_accuracy(figures: dict[str, dict], path: str | Path) -> None:
    """Exact match and compile rate per model, for each test split."""
    variants = list(figures)
    splits = sorted({split for per_variant in figures.values() for split in per_variant})
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.0), sharey=True)
    width = 0.8 / len(splits)
    for ax, measure in zip(axes, ["exact_match", "compile_rate"]):
        for k, split in enumerate(splits):
            values = [figures[v][split][measure] or 0.0 for v in variants]
            positions = [i + (k - (len(splits) - 1) / 2) * width for i in range(len(variants))]
            ax.bar(positions, values, width=width, label=split)
        ax.set_xticks(range(len(variants)), variants, rotation=15)
        ax.set_ylim(0, 1.05)
        ax.set_title(measure.replace("_", " "))
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("share of test instructions")
    axes[1].legend(fontsize=8)
    fig.suptitle("Java: accuracy by stage")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
