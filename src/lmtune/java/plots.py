"""Figures of the Java experiment."""

from __future__ import annotations

from pathlib import Path

from lmtune.core.plots import figure_text, plt, save


def plot_java_accuracy(figures: dict[str, dict], path: str | Path) -> None:
    """The Java levels (compiles, has the asked-for method, runs like the reference) and
    exact match per model, for each test split; a level not measured reads "n/a"."""
    from lmtune.java.tasks import MEASURES

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
    save(fig, path)
