"""Figures of a study: each headline metric against a swept setting's value, and the
forgetting-learning frontier (strategies and weight interpolation on one figure)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

from lmtune.continual.plots import frame_forgetting_vs_learning
from lmtune.core.plots import plt, save
from lmtune.study.sweeps import BASE_ID, Branch, format_value, setting_value


def setting_slice(branches: list[Branch], base: dict, setting: str) -> list[tuple[object, str]]:
    """(value, branch id) of the branches that change `setting` and nothing else, and the
    base: the line through the base along that setting (in a grid, the other settings
    stay at the base's values)."""
    points = [(setting_value(base, setting), branch.id) for branch in branches if not branch.overrides]
    points += [(branch.overrides[setting], branch.id) for branch in branches if branch.overrides.keys() == {setting}]
    return points


def plot_setting(
    branches: list[Branch],
    base: dict,
    metrics: dict[str, dict[str, float | None]],
    setting: str,
    path: str | Path,
    names: list[str] | None = None,
) -> None:
    """One panel per headline metric (`names`, default every one): its value against the
    setting's, the base ringed, on a log axis where the values span a decade or more
    (learning rates)."""
    points = setting_slice(branches, base, setting)
    names = names or list(dict.fromkeys(name for _, branch in points for name in metrics.get(branch, {})))
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v, _ in points)
    if numeric:
        points.sort(key=lambda point: point[0])
    columns = min(4, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 2.8 * rows), squeeze=False)
    x = [v for v, _ in points] if numeric else list(range(len(points)))
    base_index = [branch for _, branch in points].index(BASE_ID)
    for ax, name in zip(axes.flat, names):
        y = [metrics.get(branch, {}).get(name) for _, branch in points]
        shown = [(xi, yi) for xi, yi in zip(x, y) if yi is not None]
        ax.plot([xi for xi, _ in shown], [yi for _, yi in shown], marker="o")
        base_y = y[base_index]
        if base_y is not None:
            ax.scatter([x[base_index]], [base_y], s=110, facecolors="none", edgecolors="black", label="base", zorder=3)
        if not shown:
            ax.text(0.5, 0.5, "n/a (not measured)", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(name, fontsize=8)
        ax.grid(alpha=0.3)
        if shown and numeric and min(x) > 0 and max(x) >= 10 * min(x):
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(x, [format_value(v) for v, _ in points], rotation=30, fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.supxlabel(setting)
    save(fig, path)


def plot_frontier(
    strategies: dict[str, dict[str, float]],
    curves: dict[str, list[dict]],
    order: list[str],
    path: str | Path,
) -> None:
    """Every strategy's (learning, forgetting) point and each interpolation curve
    (`frontier_points`, α marked at its points) on one figure; lower right is better."""
    earlier, last = order[:-1], order[-1]
    # One colour per strategy and per curve: scatter and plot would each restart the cycle.
    colours = itertools.cycle(plt.rcParams["axes.prop_cycle"].by_key()["color"])
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for name, point in strategies.items():
        ax.scatter(point["learning"], point["forgetting"], s=60, marker="s", color=next(colours), label=name, zorder=3)
    for label, points in curves.items():
        colour = next(colours)
        ax.plot([p["learning"] for p in points], [p["forgetting"] for p in points], marker="o", markersize=4, color=colour, label=label)
        for p in points:
            ax.annotate(f"α={p['alpha']:g}", (p["learning"], p["forgetting"]), fontsize=6, color=colour,
                        xytext=(3, -9), textcoords="offset points")
    frame_forgetting_vs_learning(ax, earlier, last, "Forgetting against learning: strategies and weight interpolation")
    save(fig, path)
