"""The experiments, as plug-ins: every package of lmtune with an `experiment` module that
declares `EXPERIMENT` (lmtune.core.declaration), in their declared order. Adding one is
its package (with its declaration and its config section's schema.yaml), its rules file
workflow/rules/<name>.smk and its tests: everything that spans the experiments (the
config schema, the load-time checks, the compute checks, the study's headline metrics,
the cross matrix) loops over this registry."""

from __future__ import annotations

import copy
import functools
import importlib
import pkgutil
from pathlib import Path

import lmtune
from lmtune.core.declaration import Experiment
from lmtune.core.schema import CONFIG_SCHEMA, load_schema


@functools.cache
def registry() -> dict[str, Experiment]:
    """name -> declaration, in the experiments' order."""
    found = []
    for package in pkgutil.iter_modules(lmtune.__path__):
        # Looked for as a file: importing every subpackage to ask would load them all.
        if package.ispkg and (Path(package.module_finder.path) / package.name / "experiment.py").is_file():
            declared = importlib.import_module(f"lmtune.{package.name}.experiment").EXPERIMENT
            if declared.name != package.name:
                raise ValueError(f"lmtune.{package.name}.experiment declares experiment {declared.name!r}: name it {package.name!r}")
            found.append(declared)
    return {experiment.name: experiment for experiment in sorted(found, key=lambda experiment: experiment.order)}


def schema_file(name: str) -> Path:
    """The schema of experiment `name`'s config section: schema.yaml in its package."""
    return Path(importlib.import_module(f"lmtune.{name}").__file__).with_name("schema.yaml")


@functools.cache
def config_schema() -> dict:
    """The config schema (workflow/schemas/config.schema.yaml) with each experiment's
    section (its package's schema.yaml) and `experiments` naming them (read once: not to
    be changed by the caller)."""
    schema = copy.deepcopy(load_schema(CONFIG_SCHEMA))
    schema["properties"]["experiments"]["items"]["enum"] = list(registry())
    for name, experiment in registry().items():
        schema["properties"][name] = copy.deepcopy(load_schema(schema_file(name)))
    return schema
