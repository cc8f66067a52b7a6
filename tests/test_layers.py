"""The library's layers: each imports only from layers below it, and no modules import
each other in a circle (an import inside a function counts too: it only moves the
circle to run time)."""

from __future__ import annotations

import ast
from pathlib import Path

from lmtune.experiments import config_schema, registry, schema_file

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "lmtune"
REPO = PACKAGE.parents[1]
EXPERIMENT_PACKAGES = tuple(registry())
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


def test_every_experiment_is_found_with_its_places():
    """The registry finds the four experiments, in order, each with its package, its rules
    file, its schema section and its metrics file."""
    assert EXPERIMENT_PACKAGES == ("continual", "arithmetic", "java", "instruct")
    for name, experiment in registry().items():
        assert (PACKAGE / name / "experiment.py").is_file(), name
        assert (REPO / "workflow/rules" / f"{name}.smk").is_file(), name
        assert schema_file(name) == PACKAGE / name / "schema.yaml", name
        assert experiment.metrics_file.startswith(f"{name}/"), name


def test_the_schema_enum_and_sections_are_the_registry():
    import yaml

    schema = config_schema()
    assert schema["properties"]["experiments"]["items"]["enum"] == list(registry())
    assert [key for key in schema["properties"] if key in registry()] == list(registry())
    # The shared schema file holds no experiment's section: each is its package's.
    shared = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    assert not set(shared["properties"]) & set(registry())
    assert "enum" not in shared["properties"]["experiments"]["items"]


def named_experiments(code: str) -> list[str]:
    """The experiments a Python source names as a string (a key, a comparison, a path)."""
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found |= {name for name in EXPERIMENT_PACKAGES if node.value == name or node.value.startswith(f"{name}/")}
    return sorted(found)


def test_nothing_that_spans_the_experiments_names_one():
    """Adding an experiment is its package, its rules file (and stage files beside it),
    its schema section and its tests: no module above the experiments' layer names one
    (an experiment's own glue, lmtune.pipeline.<experiment>, aside), and no shared rules
    file does."""
    import re

    wrong = {}
    for path in PACKAGE.rglob("*.py"):
        module = module_name(path)
        if layer(module) in ("core", "experiment") or module.split(".")[-1] in EXPERIMENT_PACKAGES:
            continue
        if named := named_experiments(path.read_text(encoding="utf-8")):
            wrong[module] = named
    rules = REPO / "workflow/rules"
    shared = [REPO / "Snakefile"] + [
        path
        for path in rules.rglob("*.smk")
        if path.stem not in EXPERIMENT_PACKAGES and path.relative_to(rules).parts[0] not in EXPERIMENT_PACKAGES
    ]
    assert {path.name for path in shared} >= {"Snakefile", "common.smk", "cross.smk", "matrix.smk", "record.smk", "study.smk"}
    for path in shared:
        code = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
        if named := [name for name in EXPERIMENT_PACKAGES if re.search(rf"[\"']{name}[\"'/]", code)]:
            wrong[str(path.relative_to(REPO))] = named
    assert not wrong, wrong
