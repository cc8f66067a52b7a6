"""The study table: one row per branch, the swept settings and every headline metric with
its change against the base branch; and Markdown tables, for it and for the reports."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmtune.core import atomic
from lmtune.study.sweeps import BASE_ID, Branch, format_value, setting_value

if TYPE_CHECKING:
    import pandas as pd

DELTA = "Δ "  # the prefix of a delta column: "Δ continual/sequential/forgetting_A"


def delta(value: float | None, reference: float | None) -> float | None:
    """value - reference; None when either is missing (a figure that was not measured
    has no change, not a change of 0)."""
    if _missing(value) or _missing(reference):
        return None
    return value - reference


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def study_table(base: dict, branches: list[Branch], metrics: dict[str, dict[str, float | None]]) -> "pd.DataFrame":
    """Rows: the branches, in order. Columns: `branch`; each swept setting (the branch's
    value, the base's where it keeps it); each headline metric and its delta against the
    `base` branch. `metrics` maps branch id -> {metric: value}; a branch without figures
    yet has empty cells."""
    import pandas as pd

    settings = list(dict.fromkeys(path for branch in branches for path in branch.overrides))
    names = list(dict.fromkeys(name for branch in branches for name in metrics.get(branch.id, {})))
    reference = metrics.get(BASE_ID, {})
    rows = []
    for branch in branches:
        row: dict[str, Any] = {"branch": branch.id}
        for path in settings:
            row[path] = branch.overrides[path] if path in branch.overrides else setting_value(base, path)
        figures = metrics.get(branch.id, {})
        for name in names:
            row[name] = figures.get(name)
            row[DELTA + name] = delta(figures.get(name), reference.get(name))
        rows.append(row)
    return pd.DataFrame(rows, columns=["branch", *settings, *(c for n in names for c in (n, DELTA + n))])


def markdown_table(frame: "pd.DataFrame", digits: int = 4) -> str:
    """A GitHub Markdown table; numbers to `digits` significant digits, deltas (`Δ `
    columns) signed, a missing figure as "n/a", never 0."""

    def cell(value: Any, signed: bool = False) -> str:
        if _missing(value):
            return "n/a"
        if isinstance(value, float):
            return f"{value:{'+' if signed and value else ''}.{digits}g}"
        text = value if isinstance(value, str) else format_value(value)
        return text.replace("|", "\\|").replace("\n", " ")

    header = [cell(str(column)) for column in frame.columns]
    signed = [str(column).startswith(DELTA) for column in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(map(cell, row, signed)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def write_study_table(frame: "pd.DataFrame", csv_path: str | Path, markdown_path: str | Path) -> None:
    atomic.write_text(csv_path, frame.to_csv(index=False))
    atomic.write_text(markdown_path, markdown_table(frame))
