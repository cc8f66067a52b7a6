"""Figures of the arithmetic experiment."""

from __future__ import annotations

from pathlib import Path

from lmtune.core.plots import figure_text, plt, save


def plot_error_by_target(judged: dict[str, list[dict]], metrics: dict[str, dict], path: str | Path) -> None:
    """Per evaluation set (columns): the signed error of the written sum against the
    target for each model (top), and how many answers got each reason code (bottom)."""
    from lmtune.arithmetic.scoring import REASONS

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
    save(fig, path)
