"""The config schema's machinery: read it, give command-line values their types, and say
its verdict in one line. The schema itself is workflow/schemas/config.schema.yaml, each
experiment's section beside its package (lmtune.experiments.config_schema joins them); every
setting is defined there once, and code that checks a part of the config (a strategy's
settings, a sweep's paths) reads its definitions from it (`definition`)."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

from lmtune.core.errors import LmtuneError

# The checkout's schema, beside the package's source (src/lmtune/core -> the checkout).
CONFIG_SCHEMA = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(LmtuneError):
    pass


@functools.cache
def _schema_text(path: Path, modified: float) -> dict:
    import yaml

    return yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_schema(path: str | Path) -> dict:
    """The config schema at `path`: read once per process while the file is unchanged (a
    study loads the workflow once per branch); not to be changed by the caller."""
    path = Path(path).resolve()
    return _schema_text(path, path.stat().st_mtime)


# The keywords of an object's schema that constrain each of its settings on its own: the
# verdict on such an object is the verdict on each of its settings (anything else, such as
# allOf or if/then, may judge settings together).
_SETTING_BY_SETTING = {
    "$schema", "$comment", "title", "description", "type", "additionalProperties", "properties", "required",
    "definitions", "default", "examples",
}


def _resolved(node: dict, root: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node and set(node) <= {"$ref", "description", "default"}:
        node = subschemas({"$ref": node["$ref"]}, root)[0]
    return node


def changed_parts(config: dict, schema: dict, paths) -> list[tuple[list[str], object, dict]]:
    """(keys, value, schema) of the smallest parts of `config` that hold every change at
    the dotted `paths`, given that the config was valid before those changes: down each
    path while the schema judges setting by setting, and no further than an object that
    lacks a setting it requires (one the change made anew). A study checks a branch (the base,
    already checked, with a few settings changed) where it changed, not the whole config
    again for each branch (that was a fifth of planning 1,000 branches)."""
    parts: dict[tuple, tuple] = {}
    for path in paths:
        keys, node, value = [], schema, config
        for key in path.split("."):
            node = _resolved(node, schema)
            if not (isinstance(node, dict) and set(node) <= _SETTING_BY_SETTING and isinstance(value, dict)):
                break
            if not set(node.get("required", [])) <= set(value):
                break
            child = node.get("properties", {}).get(key, node.get("additionalProperties"))
            if not isinstance(child, dict) or key not in value:
                break
            keys, node, value = [*keys, key], child, value[key]
        parts[tuple(keys)] = (keys, value, {**_resolved(node, schema), "definitions": schema.get("definitions", {})})
    # A part inside another is judged with it.
    return [part for key, part in parts.items() if not any(key[: len(other)] == other for other in parts if other != key)]


def check_schema(config: dict, schema: dict, changed=None) -> None:
    """Raise ConfigError with the schema's most relevant complaint on one line: the key
    path, the value and what was expected (a full jsonschema error runs to hundreds of
    lines, the schema and the whole config included). With `changed` (dotted paths), the
    config was good before those settings changed: only what they touch is checked."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    parts = [([], config, schema)] if changed is None else changed_parts(config, schema, changed)
    for keys, value, node in parts:
        error = best_match(Draft202012Validator(node).iter_errors(value))
        if error is not None:
            break
    else:
        return
    where = ".".join(map(str, [*keys, *error.absolute_path])) or "top level"
    expected = error.schema.get("description") if isinstance(error.schema, dict) else None
    raise ConfigError(f"config {where}: {error.message}" + (f" (expected: {expected})" if expected else ""))


def subschemas(node: dict, root: dict) -> list[dict]:
    """`node` and what it refers to or combines (allOf/anyOf), with each $ref resolved."""
    if "$ref" in node:
        target = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    found = [node]
    for key in ("allOf", "anyOf", "oneOf"):
        for child in node.get(key, []):
            found.extend(subschemas(child, root))
    return found


def types_at(nodes: list[dict], key, root: dict) -> tuple[list[dict], set[str]]:
    """The subschemas that govern `key` under `nodes`, and the types they allow."""
    children = []
    for node in (sub for n in nodes for sub in subschemas(n, root)):
        if isinstance(key, int):
            if isinstance(node.get("items"), dict):
                children.append(node["items"])
        elif key in node.get("properties", {}):
            children.append(node["properties"][key])
        elif isinstance(node.get("additionalProperties"), dict):
            children.append(node["additionalProperties"])
    types = set()
    for node in (sub for n in children for sub in subschemas(n, root)):
        declared = node.get("type", [])
        declared = [declared] if isinstance(declared, str) else declared
        if "string" in declared and "enum" in node:
            # A string from a fixed list only ("all"): other strings may be numbers.
            declared = [t for t in declared if t != "string"]
            types.update(f"string:{value}" for value in node["enum"])
        types.update(declared)
    return children, types


def _coerce(value: str, types: set[str]):
    if "string" in types or f"string:{value}" in types:
        return value
    if "boolean" in types and value in ("true", "false", "True", "False"):
        return value.lower() == "true"
    for kind, convert in [("integer", int), ("number", float)]:
        if kind in types:
            try:
                return convert(value)
            except ValueError:
                pass
    return value


def coerce_to_schema(config: dict, schema: dict) -> None:
    """Give command-line values the type the schema expects where they sit. Snakemake
    reads `--config continual="{phases: {A: {learning_rate: 1e-3}}}"` with every nested
    value a string; a string where the schema wants a number or a boolean is converted,
    and anything that does not convert is left for the schema to name."""

    def walk(container, nodes):
        keys = range(len(container)) if isinstance(container, list) else list(container)
        for key in keys:
            children, types = types_at(nodes, key, schema)
            value = container[key]
            if isinstance(value, str):
                container[key] = _coerce(value, types)
            elif isinstance(value, (dict, list)):
                walk(value, children)

    walk(config, [schema])


@functools.cache
def definition(name: str, path: str | Path = CONFIG_SCHEMA) -> dict:
    """The schema's `definitions/<name>`, with its own $refs resolved, as a schema of its
    own: one definition of a setting, read by whatever checks it (read once: not to be
    changed by the caller)."""
    schema = load_schema(path)

    def resolve(node):
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve({**subschemas({"$ref": node["$ref"]}, schema)[0], **{k: v for k, v in node.items() if k != "$ref"}})
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    return resolve(schema["definitions"][name])


def fill_defaults(config: dict, schema: dict, changed=None) -> None:
    """Set every default the schema gives where `config` leaves the setting out, nested
    ones included, as snakemake.utils.validate does; but on the schema already read, not
    the file read again (a study fills each branch's config: reading the file was half of
    planning 100 branches). `config` is checked first (check_schema). With `changed`
    (dotted paths), the config was filled before: only the parts they name are filled
    (a path names each setting the change made, its top one included)."""
    from jsonschema import Draft202012Validator, validators

    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, node):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from check_properties(validator, properties, instance, node)

    filler = validators.extend(Draft202012Validator, {"properties": set_defaults})
    parts = [([], config, schema)] if changed is None else changed_parts(config, schema, changed)
    for _, value, node in parts:
        filler(node).validate(value)
