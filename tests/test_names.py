"""Every `lmtune.…` name that the README, the docstrings and comments of the library,
the rules and the scripts give a reader is there: a module that imports, or an attribute
of one (a module that moved once left the README pointing at three that no longer were)."""

from __future__ import annotations

import importlib
import re

import pytest

from conftest import REPO

# A dotted name that starts with the package; not a file name (envs/lmtune.yaml).
NAME = re.compile(r"(?<![\w/.-])lmtune(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
FILE_SUFFIXES = {"yaml", "yml", "py", "smk", "json", "md", "toml"}


def named_places():
    files = [REPO / "README.md", REPO / "Snakefile", *(REPO / "src" / "lmtune").rglob("*.py"),
             *(REPO / "workflow").rglob("*.smk"), *(REPO / "workflow" / "scripts").glob("*.py"),
             *(REPO / "benchmarks").glob("*.py")]
    found = {}
    for file in files:
        for match in NAME.finditer(file.read_text(encoding="utf-8")):
            name = match.group(0)
            if name.rsplit(".", 1)[-1] not in FILE_SUFFIXES:
                found.setdefault(name, file.relative_to(REPO).as_posix())
    return found


def resolves(name: str) -> bool:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                try:  # a submodule not imported by its package
                    target = importlib.import_module(f"{target.__name__}.{attribute}")
                    continue
                except (ModuleNotFoundError, AttributeError):
                    return False
            target = getattr(target, attribute)
        return True
    return False


PLACES = named_places()


def test_names_are_found():
    assert len(PLACES) > 30


@pytest.mark.parametrize("name", sorted(PLACES))
def test_a_named_module_or_attribute_exists(name):
    assert resolves(name), f"{PLACES[name]} names {name}, which does not import"
