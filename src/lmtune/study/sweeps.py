"""Branches of a study: which settings each run changes against the base config.

A setting is named by its dotted path in the config (`continual.phases.B.learning_rate`).
Branches come from a `sweeps:` section,

    sweeps:
      mode: one_at_a_time          # or grid
      settings:
        continual.phases.B.learning_rate: [1.0e-5, 1.0e-4, 3.0e-4]
        arithmetic.lora.r: [4, 8]

or from a TSV sheet of runs (`read_sweep_sheet`): one row per run, one column per
setting path, an empty cell keeping the base's value, an optional `id` column naming the
run. The base config is always the first branch, `base`; a branch overrides only the
settings that differ from the base, so listing the base's own value never makes a
duplicate of it: it is one of the base's `repeats`. `distinct_branches` folds any branch
that runs what an earlier one runs (the experiments that run, their settings, defaults
filled in) into that branch's repeats.

An id names the branch's folder, <results>/study/<id>/: a sheet's id must be a folder
name of its own there, and two different branches that get one id (ids round numbers and
replace '/') are an error naming both.

Every setting path must exist in the base config or in the config schema (an unknown one
is an error naming the nearest valid path), must belong to an experiment the branch runs
(else an error naming it and the experiments that run), and every value must pass the
schema where it sits (applied alone to the base). `resolved_config` checks a branch's config, the
settings together. The base has been checked already: only the parts of the config a
branch changes are checked again (lmtune.core.schema.changed_parts).
"""

from __future__ import annotations

import copy
import csv
import difflib
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmtune.config import EXPERIMENTS, experiments
from lmtune.core.schema import ConfigError, check_schema, coerce_to_schema, subschemas, types_at
from lmtune.core.errors import LmtuneError
from lmtune.experiments import registry

BASE_ID = "base"
MODES = ("one_at_a_time", "grid")
# Ids name folders and Snakemake wildcards: readable, and short enough to type. A longer
# one keeps a readable start and ends in a hash of the overrides, which keeps it unique.
MAX_ID_LENGTH = 64
ID_CHARACTERS = "A-Za-z0-9._=,+-"
_UNSAFE = re.compile(f"[^{ID_CHARACTERS}]")
# Ids that are folder names but not a folder of their own under <results>/study/.
_NOT_A_FOLDER_OF_ITS_OWN = (".", "..")
# What a run is not: the study around it, where its curves go and where it writes
# (none of them changes a result).
NOT_RUN_SETTINGS = ("sweeps", "tracking", "results")

# The sheet's own schema, as the snakemake-workflows catalog gives its sample sheets one:
# checked before any cell is read as a setting.
SHEET_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "description": "a sweep sheet: one row per run, one column per dotted setting path",
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "properties": {"id": {"type": "string", "pattern": f"^([{ID_CHARACTERS}]+)?$", "maxLength": MAX_ID_LENGTH}},
        "propertyNames": {"pattern": r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$"},
        "additionalProperties": {"type": "string"},
    },
}


class SweepError(LmtuneError):
    pass


@dataclass
class Branch:
    """One run of a study: its id and the settings it sets (dotted path -> value), only
    those that differ from the base config."""

    id: str
    overrides: dict[str, Any] = field(default_factory=dict)
    # The ids of the branches asked for that run exactly what this one runs: they are not
    # planned again, and study.csv reports them as this branch's row.
    repeats: list[str] = field(default_factory=list)


# --- setting paths -----------------------------------------------------------------


def flat_settings(config: dict, prefix: str = "") -> dict[str, Any]:
    """dotted path -> value of every leaf of `config` (a list is one value)."""
    flat = {}
    for key, value in config.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(flat_settings(value, path))
        else:
            flat[path] = value
    return flat


def setting_paths(config: dict, schema: dict) -> set[str]:
    """Every dotted path the base config has or the schema names (a key the schema allows
    under any name, such as a phase's domain, is taken from the config)."""
    paths: set[str] = set()

    def walk(value, nodes: list[dict], prefix: str) -> None:
        keys = set(value) if isinstance(value, dict) else set()
        for node in (sub for n in nodes for sub in subschemas(n, schema)):
            keys.update(node.get("properties", {}))
        for key in keys:
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            children, _ = types_at(nodes, key, schema)
            walk(value.get(key) if isinstance(value, dict) else None, children, path)

    walk(config, [schema], "")
    return paths


def check_setting_path(path: str, config: dict, schema: dict, known: set[str] | None = None) -> None:
    """Raise SweepError unless the config has `path` or the schema allows it, naming the
    nearest valid path. `known` is `setting_paths(config, schema)`, when the caller has it."""
    nodes, value = [schema], config
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
        nodes, _ = types_at(nodes, key, schema)
        if not nodes and value is None:
            known = known if known is not None else setting_paths(config, schema)
            nearest = difflib.get_close_matches(path, sorted(known), n=1, cutoff=0.0)
            hint = f"; did you mean {nearest[0]}?" if nearest else ""
            raise SweepError(f"unknown setting {path}: neither the base config nor the config schema has it{hint}")


def apply_overrides(config: dict, overrides: dict[str, Any]) -> dict:
    """A deep copy of `config` with each dotted path set to its value (missing levels
    created); `config` itself is left as it is."""
    merged = copy.deepcopy(config)
    for path, value in overrides.items():
        *parents, last = path.split(".")
        node = merged
        for key in parents:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise SweepError(f"setting {path}: {key} holds a value, not a section")
        node[last] = copy.deepcopy(value)
    return merged


def new_parts(base: dict, overrides: dict[str, Any]) -> list[str]:
    """The path of each part of the config that the overrides make anew: a setting's
    value, or the first level of its path that the base does not have."""
    made = []
    for path in overrides:
        keys, node = path.split("."), base
        for depth, key in enumerate(keys, 1):
            if not isinstance(node, dict) or key not in node:
                break
            node = node[key]
        made.append(".".join(keys[:depth]))
    return made


def resolved_config(base: dict, branch: Branch, schema: dict) -> dict:
    """The branch's whole config (the base with its overrides), the sections it changes
    checked by the schema as a whole: the settings together, not only one at a time."""
    config = apply_overrides(base, branch.overrides)
    try:
        check_schema(config, schema, changed=branch.overrides)
        for name, experiment in registry().items():
            if name in config:
                experiment.check_settings(config)
    except ConfigError as exc:
        raise SweepError(f"branch {branch.id}: {exc}") from None
    return config


def overlay(overrides: dict[str, Any]) -> dict:
    """The overrides as a nested config, for a `--configfile` read on top of the base."""
    return apply_overrides({}, overrides)


# --- values --------------------------------------------------------------------------


def _typed(path: str, value: Any, schema: dict) -> Any:
    """A value as the schema types it where it sits: YAML and TSV give `3e-4` as a string
    (YAML 1.1 wants a dot for a float), the same conversion as `--config` values get."""
    if not isinstance(value, str):
        return value
    holder = overlay({path: value})
    coerce_to_schema(holder, schema)
    for key in path.split("."):
        holder = holder[key]
    return holder


def check_settings_run(settings: dict[str, Any], base: dict, where: str) -> None:
    """Raise SweepError when `settings` (one branch's, its `experiments` included where it
    sets them) set a setting of an experiment that the branch does not run: such a branch
    would run what the base runs, under a name that says otherwise. Benchmark settings are
    not swept at all."""
    runs = experiments({**base, "experiments": settings["experiments"]} if "experiments" in settings else base)
    for path in settings:
        section = path.split(".", 1)[0]
        if section == "benchmarks":
            # Their files lie in the model folders a branch shares with the base run: a
            # branch's own tasks would be written over the base's.
            raise SweepError(f"{where}{path}: benchmark tasks are not swept (a branch shares the base run's model "
                             "folders, where their scores lie); list every task in benchmarks.tasks instead")
        if section in EXPERIMENTS and section not in runs:
            raise SweepError(f"{where}{path} is a setting of the {section} experiment, which this run does not include "
                             f"(experiments: {', '.join(runs)}); add {section} to experiments or drop the setting")


def _check_value(path: str, value: Any, base: dict, schema: dict) -> None:
    """The schema's verdict on the base with this one setting changed, naming the path."""
    try:
        check_schema(apply_overrides(base, {path: value}), schema, changed=[path])
    except ConfigError as exc:
        raise SweepError(f"setting {path} = {value!r}: {exc}") from None


def setting_value(config: dict, path: str, missing: Any = None) -> Any:
    """The value at a dotted path, or `missing` where the config has none."""
    node = config
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return missing
        node = node[key]
    return node


_UNSET = object()  # a setting the base does not have: any value differs from it


# --- branch ids ----------------------------------------------------------------------


def format_value(value: Any) -> str:
    """A value as an id shows it: 3e-4 rather than 0.0003, lists joined by '+'."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        mantissa, exponent = f"{value:.6e}".split("e")
        if -3 <= int(exponent) < 4:
            return f"{value:.6g}"
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    if isinstance(value, (list, tuple)):
        return "+".join(format_value(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def setting_labels(paths: list[str]) -> dict[str, str]:
    """path -> its shortest tail of at least two parts that no other path ends with
    (`continual.phases.B.learning_rate` -> `B.learning_rate`)."""
    labels = {}
    for path in paths:
        parts = path.split(".")
        for size in range(min(2, len(parts)), len(parts) + 1):
            tail = parts[-size:]
            clash = any(other != path and other.split(".")[-size:] == tail for other in paths)
            if not clash:
                break
        labels[path] = ".".join(tail)
    return labels


def branch_id(overrides: dict[str, Any], labels: dict[str, str]) -> str:
    """`B.learning_rate=3e-4,lora.r=4`: each setting by its label, in the order given;
    `base` when there is none. Too long, it keeps its start and ends in a hash."""
    if not overrides:
        return BASE_ID
    readable = _UNSAFE.sub("_", ",".join(f"{labels[path]}={format_value(value)}" for path, value in overrides.items()))
    if len(readable) <= MAX_ID_LENGTH:
        return readable
    digest = hashlib.sha256(json.dumps(overrides, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return f"{readable[: MAX_ID_LENGTH - len(digest) - 1]}~{digest}"


# --- expansion -----------------------------------------------------------------------


def expand_sweep(sweep: dict, base: dict, schema: dict) -> list[Branch]:
    """The branches of a `sweeps:` section, the base first. `one_at_a_time`: each value of
    each setting alone; `grid`: every combination. Each value is checked by the schema
    applied alone to the base (settings that only pass together, such as a strategy's
    `method` and the settings it requires, belong in a sheet)."""
    mode, settings = sweep.get("mode", "one_at_a_time"), sweep.get("settings") or {}
    if mode not in MODES:
        raise SweepError(f"sweeps.mode is {mode!r}; expected one of {', '.join(MODES)}")
    if not settings:
        raise SweepError("sweeps.settings names no setting to sweep")
    known = setting_paths(base, schema)
    if "experiments" not in settings:  # else each combination is checked with its own
        check_settings_run(settings, base, "sweeps.settings: ")
    values: dict[str, list] = {}
    for path, listed in settings.items():
        check_setting_path(path, base, schema, known)
        if not isinstance(listed, list) or not listed:
            raise SweepError(f"sweeps.settings.{path}: expected a non-empty list of values, got {listed!r}")
        typed = [_typed(path, value, schema) for value in listed]
        for i, value in enumerate(typed):
            if value in typed[:i]:
                raise SweepError(f"sweeps.settings.{path} lists {format_value(value)} twice")
            _check_value(path, value, base, schema)
        values[path] = typed

    base_values = {path: setting_value(base, path, _UNSET) for path in values}
    if mode == "one_at_a_time":
        combinations = ({path: value} for path, listed in values.items() for value in listed)
    else:
        combinations = (dict(zip(values, combination)) for combination in itertools.product(*values.values()))
    labels = setting_labels(list(values))
    branches = {BASE_ID: Branch(BASE_ID)}
    for combination in combinations:
        check_settings_run(combination, base, "sweeps.settings: ")
        overrides = {path: value for path, value in combination.items() if value != base_values[path]}
        if not overrides:  # the base's own values: the base branch
            branches[BASE_ID].repeats.append(branch_id(combination, labels))
            continue
        identity = branch_id(overrides, labels)
        if identity in branches:
            raise SweepError(
                f"sweeps: {describe(branches[identity].overrides)} and {describe(overrides)} both get the id "
                f"{identity!r} ({ID_ROUNDING}); a sheet with an id column names them apart"
            )
        branches[identity] = Branch(identity, overrides)
    return list(branches.values())


# Why two different branches can get one id.
ID_ROUNDING = "an id writes a number to 6 significant digits and a character outside letters, digits and ._=,+- as _"


def describe(overrides: dict[str, Any]) -> str:
    """The settings of a branch, each value exactly (an id rounds it)."""
    return ", ".join(f"{path}={value!r}" for path, value in overrides.items())


def check_branch_id(identity: str, where: str) -> None:
    """Raise SweepError unless `identity` names a folder of its own under
    <results>/study/: not empty, only letters, digits and ._=,+- (no path separator),
    not `.` or `..`."""
    if identity in _NOT_A_FOLDER_OF_ITS_OWN or not re.fullmatch(f"[{ID_CHARACTERS}]+", identity):
        raise SweepError(
            f"{where}: id {identity!r} is not a folder name of its own under <results>/study/; "
            f"use letters, digits and ._=,+- (not . or ..)"
        )


def run_settings(config: dict) -> dict:
    """What a run computes from: its config less what is not a run (NOT_RUN_SETTINGS)
    and less the sections of the experiments it does not run."""
    planned = experiments(config)
    return {
        **{key: value for key, value in config.items()
           if key not in NOT_RUN_SETTINGS and (key not in EXPERIMENTS or key in planned)},
        "experiments": planned,
    }


def distinct_branches(branches: list[Branch], configs: dict[str, dict]) -> list[Branch]:
    """The branches whose runs differ, in order (the base first): a branch that runs
    exactly what an earlier one runs (`run_settings` of its whole config in `configs`,
    branch id -> config with the schema's defaults filled in) becomes one of that
    branch's `repeats`, with its own."""
    kept: dict[str, Branch] = {}
    for branch in branches:
        key = json.dumps(run_settings(configs[branch.id]), sort_keys=True, default=str)
        if key in kept:
            kept[key].repeats.extend([branch.id, *branch.repeats])
        else:
            kept[key] = branch
    return list(kept.values())


def read_sweep_sheet(path: str | Path, base: dict, schema: dict) -> list[Branch]:
    """The branches of a TSV sheet, the base first: one row per run, a column per setting
    path (an empty cell: the base's value), an optional `id` column (default: the id the
    overrides give). Lines starting with '#' are comments. Each row is checked as a whole
    config; the sheet first by its own schema (`SHEET_SCHEMA`)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    import yaml

    with open(path, newline="", encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip() and not line.lstrip().startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t"))
    if any(None in row or None in row.values() for row in rows):
        raise SweepError(f"{path}: a row has more or fewer cells than the header has columns")
    error = best_match(Draft202012Validator(SHEET_SCHEMA).iter_errors(rows))
    if error is not None:
        where = f"row {error.absolute_path[0] + 1}" if error.absolute_path else "the sheet"
        raise SweepError(f"{path}: {where}: {error.message}")

    columns = [column for column in rows[0] if column != "id"]
    known = setting_paths(base, schema)
    for column in columns:
        check_setting_path(column, base, schema, known)
    if "experiments" not in columns:  # else each row is checked with its own
        check_settings_run(dict.fromkeys(columns), base, f"{path}: ")
    labels = setting_labels(columns)
    branches = {BASE_ID: Branch(BASE_ID)}
    seen: dict[str, int] = {}
    rows_of: dict[str, str] = {BASE_ID: "the base"}  # id -> the row that has it
    for number, row in enumerate(rows, start=1):
        cells = {column: _typed(column, yaml.safe_load(row[column]), schema) for column in columns if row[column].strip()}
        check_settings_run(cells, base, f"{path}: row {number}: ")
        overrides = {column: value for column, value in cells.items() if value != setting_value(base, column, _UNSET)}
        key = json.dumps(overrides, sort_keys=True, default=str)
        if key in seen:
            raise SweepError(f"{path}: row {number} sets the same settings as row {seen[key]}")
        seen[key] = number
        if row.get("id"):
            check_branch_id(row["id"], f"{path}: row {number}")
        if not overrides:  # the base's own values: the base branch
            branches[BASE_ID].repeats.append(row.get("id") or f"row {number}")
            continue
        branch = Branch(row.get("id") or branch_id(overrides, labels), overrides)
        if branch.id in branches:
            rounding = "" if row.get("id") else f" ({ID_ROUNDING}; an id column names them apart)"
            raise SweepError(f"{path}: row {number}: id {branch.id!r} is already {rows_of[branch.id]}'s{rounding}")
        resolved_config(base, branch, schema)  # the row's settings together
        branches[branch.id] = branch
        rows_of[branch.id] = f"row {number}"
    return list(branches.values())
