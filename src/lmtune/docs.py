"""The documentation site's generated pages (mkdocs.yml; docs/hooks.py calls these as the
site builds), made from what the code holds so that they cannot drift from it:

- the home page, from the README (its links into docs/ made the site's);
- the configuration reference, from the config schema (workflow/schemas/config.schema.yaml):
  every setting with its type, default, allowed values and description;
- the strategies against forgetting, from the plug-ins' own docstrings and schemas
  (lmtune.continual.strategies: what `lmtune strategies` prints, and each one's settings);
- the benchmarks, from the scripts' own docstrings (benchmarks/*.py) and the result files
  `benchmarks/record.py` wrote under docs/benchmarks/: each figure beside the command,
  date, machine and commit that produced it. A benchmark never recorded says so.
"""

from __future__ import annotations

import ast
import datetime
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lmtune.core.schema import CONFIG_SCHEMA, load_schema
from lmtune.experiments import config_schema

REPO = CONFIG_SCHEMA.parents[2]
BENCHMARK_SCRIPTS = REPO / "benchmarks"
BENCHMARK_RECORDS = REPO / "docs" / "benchmarks"
# A setting under an object whose keys the user names (a domain, a phase, a strategy, a run).
NAMED = "<name>"


@dataclass(frozen=True)
class Setting:
    path: str  # dotted, NAMED where the user names the key
    type: str
    default: str
    allowed: str
    description: str


# --- the home page -----------------------------------------------------------------------

# Where the README's links point on the site (docs/ is the site's root).
README_LINKS = {"](docs/": "](", "](config/README.md)": "](configure.md)"}


def home_page(readme: Path = REPO / "README.md") -> str:
    """The README, the site's home page too (one front page), its links into docs/ made
    relative to the site."""
    text = readme.read_text(encoding="utf-8")
    for repository, site in README_LINKS.items():
        text = text.replace(repository, site)
    return text


# --- the configuration reference ---------------------------------------------------------


def _definition_name(node: dict) -> str | None:
    ref = node.get("$ref", "") if isinstance(node, dict) else ""
    return ref.rsplit("/", 1)[-1] if ref.startswith("#/definitions/") else None


def _is_block(schema: dict, name: str) -> bool:
    """A definition with settings of its own gets its own section; a plain type (a positive
    integer, a pair of integers) is written out where it is used."""
    node = schema["definitions"][name]
    return "properties" in node or "allOf" in node


def _resolve_plain(node: dict, schema: dict) -> dict:
    """`node` with a reference to a plain-type definition replaced by that definition
    (its own keys win)."""
    name = _definition_name(node)
    if name and not _is_block(schema, name):
        return {**schema["definitions"][name], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _type(node: dict, schema: dict) -> str:
    name = _definition_name(node)
    if name:
        return f"[{name}](#{name})"
    if "type" in node:
        types = node["type"] if isinstance(node["type"], list) else [node["type"]]
        if "array" in types and "items" in node:
            items = _resolve_plain(node["items"], schema)
            item_type = _type(items, schema) if ("type" in items or "$ref" in items) else "any"
            count = (f" of {node['minItems']}" if node.get("minItems") == node.get("maxItems") and "minItems" in node
                     else "")
            types = [f"list{count} of {item_type}" if t == "array" else t for t in types]
        return " or ".join(types)
    for key in ("oneOf", "anyOf"):
        if key in node:
            return " or ".join(dict.fromkeys(_type(_resolve_plain(option, schema), schema) for option in node[key]))
    return "any"


def _allowed(node: dict) -> str:
    """The values a setting may take, beyond its type: its choices, its bounds, its pattern."""
    parts = []
    if "enum" in node:
        parts.append(", ".join(f"`{value}`" for value in node["enum"]))
    bounds = [("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")]
    parts += [f"{sign} {node[key]}" for key, sign in bounds if key in node]
    if "pattern" in node:
        parts.append(f"matches `{node['pattern']}`")
    if "minLength" in node:
        parts.append("not empty")
    if node.get("minItems") and node.get("minItems") != node.get("maxItems"):
        parts.append(f"at least {node['minItems']} item{'s' if node['minItems'] > 1 else ''}")
    if node.get("uniqueItems"):
        parts.append("no repeats")
    if "items" in node and isinstance(node["items"], dict):
        item = _allowed(node["items"])
        parts += [f"each {item}"] if item else []
    for key in ("oneOf", "anyOf"):
        options = [_allowed(option) for option in node.get(key, [])]
        if any(options):
            parts.append(" or ".join(option or "any" for option in options))
    return "; ".join(parts)


def _default(node: dict) -> str:
    return f"`{json.dumps(node['default'], ensure_ascii=False)}`" if "default" in node else ""


def _description(node: dict, schema: dict) -> str:
    """A setting's own description, else that of the block it refers to."""
    if "description" in node:
        return node["description"]
    name = _definition_name(node)
    return schema["definitions"][name].get("description", "") if name else ""


def settings(node: dict, schema: dict, prefix: str = "", required: tuple = ()) -> list[Setting]:
    """Every setting under `node` (an object's schema), depth first, with its dotted path
    below `prefix`. A reference to a block (a definition with settings of its own) is one
    row pointing at that block's section, not its settings again."""
    rows = []
    for key, child in node.get("properties", {}).items():
        rows += _setting(f"{prefix}{key}", child, schema, required=key in node.get("required", ()) or key in required)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        rows += _setting(f"{prefix}{NAMED}", extra, schema, required=False)
    for option in node.get("oneOf", []) + node.get("anyOf", []):
        if "properties" in option:  # another shape of the same setting: {path, text_field}, {hub, ...}
            rows += settings(option, schema, prefix)
    return rows


def _setting(path: str, node: dict, schema: dict, required: bool) -> list[Setting]:
    node = _resolve_plain(node, schema)
    allowed = _allowed(node)
    if required:
        allowed = f"required; {allowed}" if allowed else "required"
    row = Setting(path, _type(node, schema), _default(node), allowed, _description(node, schema))
    if _definition_name(node):
        return [row]
    return [row, *settings(node, schema, f"{path}.")]


def blocks(schema: dict) -> dict[str, list[Setting]]:
    """Each block (a definition with settings of its own) -> its settings. A block made of
    others (allOf) lists theirs, with what it adds (a setting it requires)."""
    found = {}
    for name, node in schema["definitions"].items():
        if not _is_block(schema, name):
            continue
        required = tuple(key for part in node.get("allOf", []) for key in part.get("required", ()))
        rows = settings(node, schema, required=required)
        for part in node.get("allOf", []):
            inner = _definition_name(part)
            if inner:
                rows += settings(schema["definitions"][inner], schema, required=required)
        found[name] = rows
    return found


def missing_descriptions(schema: dict) -> list[str]:
    """The paths of settings that have no description (a test keeps this empty)."""
    rows = settings(schema, schema) + [
        Setting(f"{block}.{row.path}", row.type, row.default, row.allowed, row.description)
        for block, rows in blocks(schema).items() for row in rows
    ]
    return [row.path for row in rows if not row.description.strip()]


def _cell(text: str) -> str:
    """Markdown table cell text: pipes escaped, line breaks joined, and angle brackets
    outside code spans written as entities (`<results>` would be read as an HTML tag)."""
    parts = " ".join(text.split()).replace("|", "\\|").split("`")
    return "`".join(part if i % 2 else part.replace("<", "&lt;").replace(">", "&gt;") for i, part in enumerate(parts))


def settings_table(rows: list[Setting]) -> str:
    lines = ["| setting | type | default | allowed | description |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| `{row.path}` | {_cell(row.type)} | {_cell(row.default)} | {_cell(row.allowed)} | {_cell(row.description)} |"
              for row in rows]
    return "\n".join(lines) + "\n"


def config_reference() -> str:
    """The configuration reference page's body (Markdown): the top-level settings, one
    section per top-level block (each experiment's from its package), then the shared
    blocks the sections point to."""
    schema = config_schema()
    top, sections = [], []
    for key, node in schema["properties"].items():
        rows = _setting(key, node, schema, required=key in schema.get("required", ()))
        if len(rows) == 1:
            top += rows
        else:
            sections.append(f"## `{key}`\n\n{_cell(rows[0].description)}\n\n{settings_table(rows[1:])}")
    text = [f"## Top level\n\n{settings_table(top)}", *sections, "## Shared blocks\n\nSettings used in several places above."]
    for name, rows in blocks(schema).items():
        node = schema["definitions"][name]
        text.append(f"### {name}\n\n{_cell(node.get('description', ''))}\n\n{settings_table(rows)}")
    return "\n".join(text)


# --- the strategies ----------------------------------------------------------------------


def strategies_reference() -> str:
    """What `lmtune strategies` prints, then each strategy: its module's docstring and its
    settings (its plug-in's schema, the settings every strategy takes included)."""
    from lmtune.continual import strategies

    schema = load_schema(CONFIG_SCHEMA)
    text = [strategies.describe() + "\n"]
    for method, cls in strategies.registry().items():
        doc = sys.modules[cls.__module__].__doc__ or ""
        own = cls.schema()
        text.append(f"## `{method}`\n\n{doc.strip()}\n\n{settings_table(settings(own, schema, required=own['required']))}")
    return "\n".join(text)


# --- the benchmarks ----------------------------------------------------------------------


def script_doc(script: Path) -> str:
    return ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))) or ""


def record_benchmark(script: str, arguments: list[str], name: str | None = None,
                     records: Path = BENCHMARK_RECORDS) -> Path:
    """Run benchmarks/<script> with `arguments` in this Python, and write its result file
    `records/<name>.json` (name: the script's stem): the command, the date (UTC), the
    machine, the commit, the wall time and what the script printed. A failed run writes
    nothing."""
    from lmtune.study.record import machine

    command = [sys.executable, str(BENCHMARK_SCRIPTS / script), *arguments]
    started = time.monotonic()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{script} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    record = {
        "script": script,
        "command": " ".join([".venv/bin/python", f"benchmarks/{script}", *arguments]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 1),
        "machine": {**machine(), "load_average": [round(load, 2) for load in _load_average()]},
        "code": _code_state(Path(records)),
        "output": done.stdout,
    }
    path = Path(records) / f"{name or Path(script).stem}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _code_state(records: Path) -> dict:
    """The commit, and whether the checkout differs from it anywhere but in the result files
    (recording one benchmark after another leaves the first's file uncommitted)."""
    from lmtune.study.record import git_state

    state = git_state(REPO)
    try:
        inside = records.resolve().relative_to(REPO)
    except ValueError:
        return state
    done = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", ".", f":!{inside}"],
                          capture_output=True, text=True)
    if done.returncode == 0:
        state["dirty"] = bool(done.stdout.strip())
    return state


def _load_average() -> tuple[float, ...]:
    import os

    return os.getloadavg() if hasattr(os, "getloadavg") else ()


def _machine_line(machine: dict) -> str:
    gpus = ", ".join(machine.get("gpus") or []) or "no GPU"
    load = machine.get("load_average")
    load_text = f"; load average {', '.join(map(str, load))} at the start" if load else ""
    return f"{machine.get('cpu')}, {machine.get('cpu_count')} cores, {gpus}; Python {machine.get('python')}{load_text}"


def benchmarks_reference(scripts: Path = BENCHMARK_SCRIPTS, records: Path = BENCHMARK_RECORDS) -> str:
    """One section per benchmark script: what it measures (its docstring), then each result
    file recorded for it, its printout beside its command, date and machine; or a line
    saying that none is recorded yet."""
    saved = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(Path(records).glob("*.json"))]
    text = []
    for script in sorted(Path(scripts).glob("*.py")):
        if script.name == "record.py":
            continue
        doc = script_doc(script)
        summary, _, rest = doc.partition("\n\n")
        text.append(f"## `{script.name}`\n\n{' '.join(summary.split())}\n")
        text.append(f"??? info \"How it measures\"\n\n{_indented(rest.strip())}\n" if rest.strip() else "")
        mine = [record for record in saved if record["script"] == script.name]
        if not mine:
            text.append(f"No recorded result yet. Record one with "
                        f"`.venv/bin/python benchmarks/record.py {script.name} [ARGUMENTS]`.\n")
        for record in mine:
            commit = (record.get("code") or {}).get("commit") or "unknown"
            dirty = " (uncommitted changes)" if (record.get("code") or {}).get("dirty") else ""
            text.append(
                f"**Recorded** {record['date']} in {record['seconds']} s, commit `{commit[:10]}`{dirty}  \n"
                f"**Command** `{record['command']}`  \n"
                f"**Machine** {_cell(_machine_line(record['machine']))}\n\n"
                f"```text\n{record['output'].rstrip()}\n```\n"
            )
    return "\n".join(part for part in text if part)


def _indented(text: str) -> str:
    """`text` as the body of an admonition: indented four spaces (its indented usage lines stay code)."""
    return "\n".join(f"    {line}" if line.strip() else "" for line in text.splitlines())
