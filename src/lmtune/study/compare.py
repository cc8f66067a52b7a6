"""Two or more results folders side by side: the settings (and code, packages) they
differ in, from each `run.json`, and their headline metrics with the change against the
first folder, as `dvc exp diff` gives for experiments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmtune.core.errors import LmtuneError
from lmtune.study.headline import headline_metrics, headline_metrics_of
from lmtune.study.record import RUN_RECORD
from lmtune.study.sweeps import flat_settings
from lmtune.study.table import DELTA, delta

if TYPE_CHECKING:
    import pandas as pd

SECTIONS = ("setting", "run", "metric")  # config settings; code and packages; headline metrics


class CompareError(LmtuneError):
    pass


def folder_labels(folders: list[Path]) -> list[str]:
    """Each folder by its name, or by the path as given where two names clash."""
    names = [folder.resolve().name for folder in folders]
    return names if len(set(names)) == len(names) else [str(folder) for folder in folders]


def read_run_record(folder: Path) -> dict | None:
    path = folder / RUN_RECORD
    return json.loads(path.read_text()) if path.exists() else None


def _run_facts(record: dict) -> dict[str, Any]:
    """What a record says about the code and packages, flat: code.commit, packages.torch..."""
    return flat_settings({"code": record.get("code", {}), "packages": record.get("packages", {})})


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def compare_folders(folders: list[str | Path]) -> "pd.DataFrame":
    """One row per differing setting, differing code or package fact, and headline
    metric: `section` (setting, run, metric), `name`, one column per folder, and for the
    metrics a `Δ <folder>` column per folder after the first. A folder without run.json
    shows its settings as missing; one with neither run.json nor metrics is an error."""
    import pandas as pd

    folders = [Path(folder) for folder in folders]
    labels = folder_labels(folders)
    records, metrics = [], []
    for folder in folders:
        if not folder.is_dir():
            raise CompareError(f"{folder} is not a folder")
        records.append(read_run_record(folder))
        files = (records[-1] or {}).get("metrics_files")
        metrics.append(headline_metrics_of({name: folder / path for name, path in files.items()}) if files else headline_metrics(folder))
        if records[-1] is None and not metrics[-1]:
            raise CompareError(f"{folder} has neither {RUN_RECORD} nor any experiment's metrics: is it a results folder?")

    rows = []
    for section, read in (("setting", lambda r: flat_settings(r["config"])), ("run", _run_facts)):
        flats = [read(record) if record is not None else {} for record in records]
        for name in sorted(set().union(*flats)):
            values = [flat.get(name) for flat in flats]
            if len({_canonical(value) for value in values}) > 1:
                rows.append({"section": section, "name": name, **dict(zip(labels, values))})
    names = list(dict.fromkeys(name for figures in metrics for name in figures))
    for name in names:
        values = [figures.get(name) for figures in metrics]
        row = {"section": "metric", "name": name, **dict(zip(labels, values))}
        row.update({DELTA + label: delta(value, values[0]) for label, value in zip(labels[1:], values[1:])})
        rows.append(row)
    columns = ["section", "name", *labels, *(DELTA + label for label in labels[1:])]
    return pd.DataFrame(rows, columns=columns)


def comparison_markdown(frame: "pd.DataFrame") -> str:
    """The comparison as Markdown: one headed table per section that has rows."""
    from lmtune.study.table import markdown_table

    titles = {"setting": "Settings that differ", "run": "Code and packages that differ", "metric": "Headline metrics"}
    parts = []
    for section in SECTIONS:
        rows = frame[frame["section"] == section].drop(columns="section")
        if section != "metric":
            rows = rows[[column for column in rows.columns if not column.startswith(DELTA)]]
        if len(rows):
            parts.append(f"## {titles[section]}\n\n{markdown_table(rows)}")
        elif section == "setting":
            parts.append(f"## {titles[section]}\n\nnone\n")
    return "\n".join(parts)
