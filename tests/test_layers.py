"""The library's layers: each imports only from layers below it, and no modules import
each other in a circle (an import inside a function counts too: it only moves the
circle to run time)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "lmtune"
EXPERIMENT_PACKAGES = ("continual", "arithmetic", "java", "instruct")
# Lowest first: the general machinery, each experiment (none knows another), what spans
# the experiments (the config, the training recipes, the cross matrix), studies of many
# runs, the code that knows Snakemake, the documentation site's generated pages, and the
# command line.
LAYERS = ("core", "experiment", "top", "study", "pipeline", "docs", "cli")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    part = module.split(".")[1] if "." in module else ""
    if part == "__main__":  # `python -m lmtune`, the command line
        return "cli"
    if part in EXPERIMENT_PACKAGES:
        return "experiment"
    return part if part in LAYERS else "top"


def imports() -> dict[str, set[str]]:
    """module -> the lmtune modules it imports, anywhere in its body."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for module, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            for name in names:
                # The longest prefix that is a module: `from a.b import c` imports a.b.c
                # where c is a module, else a.b.
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name.startswith("lmtune") and name != module and name != "lmtune":
                    found.add(name)
        graph[module] = found
    return graph


def test_no_module_imports_a_layer_above_its_own_or_another_experiment():
    rank = {name: i for i, name in enumerate(LAYERS)}
    wrong = []
    for module, imported in imports().items():
        for other in imported:
            upward = rank[layer(other)] > rank[layer(module)]
            across = layer(module) == layer(other) == "experiment" and module.split(".")[1] != other.split(".")[1]
            if upward or across:
                wrong.append(f"{module} -> {other}")
    assert not wrong, wrong


def test_no_import_circles():
    graph = imports()
    circles = []

    def visit(module, path):
        for other in graph[module]:
            if other in path:
                circles.append(path[path.index(other):] + [other])
            elif other not in done:
                visit(other, path + [other])
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert not circles, circles


def test_an_experiment_lives_in_its_own_places_and_is_registered_once():
    """Adding an experiment is its package, its rules file (and stage files beside it),
    its schema section, its tests and its name in lmtune.config.EXPERIMENTS: nothing in
    the workflow's shared files names one."""
    import re

    import yaml

    from lmtune.config import EXPERIMENTS

    repo = PACKAGE.parents[1]
    schema = yaml.safe_load((repo / "workflow/schemas/config.schema.yaml").read_text())
    assert schema["properties"]["experiments"]["items"]["enum"] == list(EXPERIMENTS)
    for name in EXPERIMENTS:
        assert (PACKAGE / name / "__init__.py").is_file(), name
        assert (repo / "workflow/rules" / f"{name}.smk").is_file(), name
        assert name in schema["properties"], name
    shared = ["Snakefile", "workflow/rules/common.smk", "workflow/rules/identity.smk", "workflow/rules/model.smk"]
    for file in shared:
        code = "\n".join(line for line in (repo / file).read_text().splitlines() if not line.lstrip().startswith("#"))
        named = [name for name in EXPERIMENTS if re.search(rf"[\"']{name}[\"']", code)]
        assert not named, f"{file} names {named}"
