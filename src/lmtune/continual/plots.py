"""Figures of the continual pre-training experiment."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from lmtune.core.plots import plt, save


def _strategies(summary: dict) -> list[str]:
    return list(summary["strategies"])


def plot_loss_matrix(summary: dict, path: str | Path) -> None:
    """Heatmap of R[stage][domain] (test loss, mean over seeds), one panel per strategy."""
    _plot_stage_matrix(
        summary, "loss_matrix_mean", [f"test {d}" for d in summary["order"]], "viridis_r", "test loss (lower is better)",
        "Loss after each stage on each domain (R matrix)", path,
    )


def plot_score_matrix(summary: dict, path: str | Path) -> None:
    """Heatmap of S[stage][task] (benchmark score, mean over seeds), one panel per strategy;
    a task whose metric is lower-is-better is marked so."""
    benchmarks = summary["benchmarks"]
    columns = [
        f"{task}\n{figures['metric'].split(',')[0]}" + ("" if figures["higher_is_better"] else " (lower is better)")
        for task in benchmarks["tasks"]
        for figures in [benchmarks["metrics"][task]]
    ]
    _plot_stage_matrix(
        summary, "score_matrix_mean", columns, "viridis", "score (higher is better, unless marked)",
        "Benchmark score after each stage on each task (lm-evaluation-harness)", path,
    )


def _plot_stage_matrix(summary, key, columns, cmap, colour_label, title, path) -> None:
    """A matrix [stage][column] of each strategy as a heatmap panel, one colour scale."""
    strategies, stages = _strategies(summary), summary["stages"]
    matrices = [np.array(summary["strategies"][s][key]) for s in strategies]
    low, high = min(m.min() for m in matrices), max(m.max() for m in matrices)
    # Dark text on the bright end of the colour map.
    dark_on_high = cmap == "viridis"
    fig, axes = plt.subplots(
        1, len(strategies), figsize=(1.2 + 1.0 * len(columns) * len(strategies) + 0.8 * len(strategies), 0.6 * len(stages) + 1.6),
        squeeze=False,
    )
    for ax, strategy, matrix in zip(axes[0], strategies, matrices):
        image = ax.imshow(matrix, cmap=cmap, vmin=low, vmax=high, aspect="auto")
        ax.set_xticks(range(len(columns)), columns)
        ax.set_yticks(range(len(stages)), stages if ax is axes[0][0] else [])
        ax.set_title(f"{strategy} ({len(summary['strategies'][strategy]['seeds'])} seed(s))", fontsize=9)
        for (i, j), value in np.ndenumerate(matrix):
            high_end = value > (low + high) / 2
            ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=8, color="black" if high_end == dark_on_high else "white")
    fig.colorbar(image, ax=axes[0].tolist(), label=colour_label)
    fig.suptitle(title)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def frame_forgetting_vs_learning(ax, earlier: list[str], last: str, title: str) -> None:
    """The axes every forgetting-against-learning figure shares: learning on the last
    domain across, forgetting of the earlier ones up, zero forgetting marked."""
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel(f"learning on {last} (loss drop in its phase)")
    ax.set_ylabel(f"forgetting of {', '.join(earlier)} (loss rise after the last phase)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)


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
    frame_forgetting_vs_learning(ax, earlier, last, "Forgetting against learning, per strategy")
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
    save(fig, path)


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
    save(fig, path)
