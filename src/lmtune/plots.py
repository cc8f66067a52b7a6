"""Figures of the continual pre-training experiment."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: jobs run without a display
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd



def _save(fig, path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _strategies(summary: dict) -> list[str]:
    return list(summary["strategies"])


def plot_loss_matrix(summary: dict, path: str | Path) -> None:
    """Heatmap of R[stage][domain] (test loss, mean over seeds), one panel per strategy."""
    strategies, stages, order = _strategies(summary), summary["stages"], summary["order"]
    matrices = [np.array(summary["strategies"][s]["loss_matrix_mean"]) for s in strategies]
    low, high = min(m.min() for m in matrices), max(m.max() for m in matrices)
    fig, axes = plt.subplots(
        1, len(strategies), figsize=(1.2 + 1.0 * len(order) * len(strategies) + 0.8 * len(strategies), 0.6 * len(stages) + 1.6),
        squeeze=False,
    )
    for ax, strategy, matrix in zip(axes[0], strategies, matrices):
        image = ax.imshow(matrix, cmap="viridis_r", vmin=low, vmax=high, aspect="auto")
        ax.set_xticks(range(len(order)), [f"test {d}" for d in order])
        ax.set_yticks(range(len(stages)), stages if ax is axes[0][0] else [])
        ax.set_title(f"{strategy} ({len(summary['strategies'][strategy]['seeds'])} seed(s))", fontsize=9)
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=8, color="white" if value > (low + high) / 2 else "black")
    fig.colorbar(image, ax=axes[0].tolist(), label="test loss (lower is better)")
    fig.suptitle("Loss after each stage on each domain (R matrix)")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def plot_forgetting_vs_learning(summary: dict, path: str | Path) -> None:
    """Per strategy: mean forgetting of the earlier domains against learning of the last
    one, each seed a small point, the mean with its spread."""
    order = summary["order"]
    earlier, last = order[:-1], order[-1]
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for strategy in _strategies(summary):
        measures = summary["strategies"][strategy]["measures"]
        seeds = len(summary["strategies"][strategy]["seeds"])
        forgetting = np.mean([measures[f"forgetting_{d}"]["values"] for d in earlier], axis=0)
        learning = np.array(measures[f"learning_{last}"]["values"])
        points = ax.scatter(learning, forgetting, s=18, alpha=0.5)
        ax.errorbar(
            learning.mean(), forgetting.mean(),
            xerr=learning.std(ddof=1) if seeds > 1 else None, yerr=forgetting.std(ddof=1) if seeds > 1 else None,
            fmt="o", markersize=8, color=points.get_facecolor()[0][:3], capsize=3, label=strategy,
        )
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel(f"learning on {last} (loss drop in its phase)")
    ax.set_ylabel(f"forgetting of {', '.join(earlier)} (loss rise after the last phase)")
    ax.set_title("Forgetting against learning, per strategy")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def plot_perplexity(summary: dict, path: str | Path) -> None:
    """Perplexity on each domain at every stage (exp of the mean loss over seeds), one
    panel per domain, one line per strategy."""
    order, stages = summary["order"], summary["stages"]
    fig, axes = plt.subplots(1, len(order), figsize=(4.6 * len(order), 4.0), squeeze=False, sharey=True)
    for j, (ax, domain) in enumerate(zip(axes[0], order)):
        for strategy in _strategies(summary):
            matrix = summary["strategies"][strategy]["loss_matrix_mean"]
            ax.plot(stages, [math.exp(row[j]) for row in matrix], marker="o", label=strategy)
        ax.set_title(f"test {domain}")
        ax.set_xlabel("stage")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("perplexity (lower is better)")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle("Perplexity per domain through continual pre-training")
    _save(fig, path)


def plot_training_loss(loss_logs: list[tuple[str, int, str, str | Path]], path: str | Path) -> None:
    """Training loss per step, phases laid end to end; one panel per strategy, one line
    per seed. `loss_logs` holds (strategy, seed, phase, csv path) in phase order."""
    strategies = list(dict.fromkeys(strategy for strategy, _, _, _ in loss_logs))
    columns = min(3, len(strategies))
    rows = math.ceil(len(strategies) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.4 * rows), squeeze=False, sharey=True)
    for ax in axes.flat[len(strategies):]:
        ax.set_visible(False)
    for ax, strategy in zip(axes.flat, strategies):
        seeds = list(dict.fromkeys(seed for s, seed, _, _ in loss_logs if s == strategy))
        for seed in seeds:
            offset, steps, losses, boundaries = 0, [], [], []
            for s, sd, phase, log_file in loss_logs:
                if (s, sd) != (strategy, seed):
                    continue
                frame = pd.read_csv(log_file)
                steps.extend(frame["step"] + offset)
                losses.extend(frame["loss"])
                offset += int(frame["step"].max()) if len(frame) else 0
                boundaries.append((offset, phase))
            ax.plot(steps, losses, marker=".", linewidth=1, label=f"seed {seed}")
        for position, phase in boundaries[:-1]:
            ax.axvline(position + 0.5, color="grey", linestyle=":", linewidth=0.8)
        ax.set_title(strategy)
        ax.set_xlabel("optimizer step (phases end to end)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for row in axes:
        row[0].set_ylabel("training loss")
    fig.suptitle("Training loss per phase")
    _save(fig, path)


def figure_text(value: float | None, form: str = "{:.2f}") -> str:
    """A metric as text; one that could not be computed (None) reads "n/a", never 0."""
    return "n/a" if value is None else form.format(value)


def plot_error_by_target(judged: dict[str, list[dict]], metrics: dict[str, dict], path: str | Path) -> None:
    """Per evaluation set (columns): the signed error of the written sum against the
    target for each model (top), and how many answers got each reason code (bottom)."""
    from .arithmetic import REASONS

    sets = sorted({r["set"] for records in judged.values() for r in records})
    variants = list(judged)
    fig, axes = plt.subplots(2, len(sets), figsize=(4.4 * len(sets), 7.6), squeeze=False,
                             gridspec_kw={"height_ratios": [1.2, 1]})
    height = 0.8 / len(variants)
    for column, eval_set in enumerate(sets):
        top, bottom = axes[0][column], axes[1][column]
        for k, (marker, variant) in enumerate(zip("os^v", variants)):
            figures = metrics[variant][eval_set]
            parsed = [r for r in judged[variant] if r["set"] == eval_set and r["parsed_sum"] is not None]
            top.scatter(
                [r["target"] for r in parsed], [r["parsed_sum"] - r["target"] for r in parsed], marker=marker, alpha=0.7,
                label=f"{variant}: MAE {figure_text(figures['mean_absolute_error'])}, "
                      f"{figures['parsable']}/{figures['prompts']} parsable",
            )
            counts = [figures["reasons"][reason] for reason in REASONS]
            positions = [i + (k - (len(variants) - 1) / 2) * height for i in range(len(REASONS))]
            bars = bottom.barh(positions, counts, height=height, label=variant)
            bottom.bar_label(bars, fontsize=7, padding=2)
        top.axhline(0, color="grey", linewidth=0.8)
        top.set_title(eval_set)
        top.set_xlabel("target")
        top.legend(fontsize=7)
        top.grid(alpha=0.3)
        bottom.set_yticks(range(len(REASONS)), REASONS if column == 0 else [])
        bottom.invert_yaxis()
        bottom.set_xlabel("answers")
        bottom.grid(axis="x", alpha=0.3)
    axes[0][0].set_ylabel("written sum − target")
    axes[1][-1].legend(fontsize=8)
    fig.suptitle("Arithmetic: error of the sum by target, and why answers are not well formed")
    _save(fig, path)


def plot_java_accuracy(figures: dict[str, dict], path: str | Path) -> None:
    """The Java levels (compiles, has the asked-for method, runs like the reference) and
    exact match per model, for each test split; a level not measured reads "n/a"."""
    from .java_tasks import MEASURES

    variants = list(figures)
    splits = sorted({split for per_variant in figures.values() for split in per_variant})
    fig, axes = plt.subplots(1, len(MEASURES), figsize=(4.2 * len(MEASURES), 4.2), sharey=True)
    width = 0.8 / len(splits)
    for ax, measure in zip(axes, MEASURES):
        for k, split in enumerate(splits):
            values = [figures[v][split][measure] for v in variants]
            positions = [i + (k - (len(splits) - 1) / 2) * width for i in range(len(variants))]
            measured = [(x, v) for x, v in zip(positions, values) if v is not None]
            bars = ax.bar([x for x, _ in measured], [v for _, v in measured], width=width, label=split, color=f"C{k}")
            ax.bar_label(bars, [figure_text(v) for _, v in measured], fontsize=7, padding=2)
            for x, v in zip(positions, values):
                if v is None:  # no bar: a level not measured is not a zero
                    ax.text(x, 0.02, "n/a", ha="center", va="bottom", fontsize=7, rotation=90, color=f"C{k}")
        ax.set_xticks(range(len(variants)), variants, rotation=15)
        ax.set_ylim(0, 1.12)
        ax.set_title(measure.replace("_", " "))
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("share of test instructions")
    axes[-1].legend(fontsize=8)
    fig.suptitle("Java: from compiling to running like the reference, by stage")
    _save(fig, path)


def plot_cross_matrix(table: pd.DataFrame, path: str | Path) -> None:
    """Models (rows) on evaluation sets (columns): colour is the change in loss against the
    model's base model, the cell text the loss."""
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
