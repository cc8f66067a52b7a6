"""The code a workflow script runs, as a hash: the script's own lmtune imports, followed
through the library, so that a change of what that code does reruns exactly the jobs
that run it (Snakemake itself reruns a job when its script changes, not its library)."""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
from functools import lru_cache
from pathlib import Path

from lmtune.core import atomic
from lmtune.core.fingerprint import source_digest

# Calls by which a module imports modules it names at run time (a plug-in registry): such
# a module runs every module beside it.
_RUNTIME_IMPORTS = {"import_module", "iter_modules"}


@lru_cache(maxsize=None)
def _module_file(name: str, package_root: Path) -> Path | None:
    path = package_root.parent / name.replace(".", "/")
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Dotted names of everything `tree` imports, at any depth (heavy parts are imported
    inside functions), relative imports resolved against `module`."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")
                anchor = parts if is_package else parts[:-1]
                base = ".".join(anchor[: len(anchor) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # a submodule, or not there
    return names


def _read_module(file: Path, module: str) -> tuple[frozenset[str], bool, bytes]:
    """What a source file imports, whether it imports by name at run time, and the hash of
    its parsed code (comments and layout left out)."""
    return _parse_module(file.read_text(encoding="utf-8"), module, file.name == "__init__.py")


@lru_cache(maxsize=None)  # by content: a study's branches read every module again
def _parse_module(source: str, module: str, is_package: bool) -> tuple[frozenset[str], bool, bytes]:
    tree = ast.parse(source)
    runtime = any(isinstance(node, ast.Attribute) and node.attr in _RUNTIME_IMPORTS for node in ast.walk(tree))
    names = _imported_names(tree, module, is_package)
    return frozenset(names), runtime, hashlib.sha256(ast.dump(tree).encode()).digest()


def library_modules(script: str | Path, package_root: str | Path) -> list[Path]:
    """The modules of the package at `package_root` that `script` can run: those it imports,
    theirs in turn, each package's `__init__` on the way, and every module beside one that
    imports by name at run time. Read from the source, nothing imported."""
    return sorted(_closure(script, Path(package_root).resolve()).values())


def _closure(script: str | Path, package_root: Path) -> dict[str, Path]:
    """Dotted name -> file of every module `script` can run (`library_modules`)."""
    package = package_root.name
    seen: dict[str, Path] = {}
    pending = [("", Path(script).resolve())]
    while pending:
        module, file = pending.pop()
        names, runtime, _ = _read_module(file, module)
        if module and runtime:
            prefix = module if file.name == "__init__.py" else module.rsplit(".", 1)[0]
            names = names | {f"{prefix}.{beside.stem}" for beside in file.parent.glob("*.py") if beside.stem != "__init__"}
        for name in names:
            parts = name.split(".")
            if parts[0] != package:
                continue
            for depth in range(1, len(parts) + 1):  # a module's packages run first
                dotted = ".".join(parts[:depth])
                if dotted not in seen and (found := _module_file(dotted, package_root)):
                    seen[dotted] = found
                    pending.append((dotted, found))
    return seen


def library_code(script: str | Path, package_root: str | Path) -> str:
    """A hash of the library code `script` runs (`library_modules`), as parsed: a comment or
    a change of layout leaves it as it was, a change of what the code does changes it."""
    package_root = Path(package_root).resolve()
    digest = hashlib.sha256()
    for module, file in sorted(_closure(script, package_root).items(), key=lambda item: item[1]):
        digest.update(file.relative_to(package_root).as_posix().encode() + b"\0" + _read_module(file, module)[2])
    return digest.hexdigest()


def library_codes(scripts, package_root: str | Path, cache_dir: str | Path | None = None) -> dict[Path, str]:
    """`library_code` of each script. A study plans the same scripts again for each of its
    branches: the answers are kept under the content of the package and the script.

    With `cache_dir`, the answers for this exact content (every module of the package,
    every script's path and bytes) are also kept in a file there, so that the next load of
    the workflow reads them instead of parsing the package again (a third of a dry run's
    own work); any change of that content is another file."""
    package_root = Path(package_root).resolve()
    package = source_digest(package_root)
    sources = {script: Path(script).read_bytes() for script in scripts}
    kept = None
    if cache_dir is not None:
        key = hashlib.sha256(package.encode())
        for script in sorted(sources, key=str):
            key.update(str(Path(script).resolve()).encode() + b"\0" + hashlib.sha256(sources[script]).digest())
        kept = Path(cache_dir) / f"{_CACHE_PREFIX}{key.hexdigest()[:32]}.json"
        try:
            answers = json.loads(kept.read_text())
            return {script: answers[str(script)] for script in sources}
        except (OSError, ValueError, KeyError):
            pass  # not kept yet, or cut short: computed again below
    codes = {
        script: _kept_library_code(Path(script).resolve(), source, package_root, package)
        for script, source in sources.items()
    }
    if kept is not None:
        with contextlib.suppress(OSError):  # a folder it cannot write to: nothing kept
            for old in kept.parent.glob(f"{_CACHE_PREFIX}*.json"):  # one file, not one per edit
                old.unlink(missing_ok=True)
            atomic.write_json(kept, {str(script): code for script, code in codes.items()})
    return codes


_CACHE_PREFIX = "library-code-"


@lru_cache(maxsize=None)
def planned_library_codes(scripts: frozenset[Path], package_root: Path, cache_dir: Path) -> dict[Path, str]:
    """`library_codes` as one planning process sees them: a study loads the workflow once
    per branch, with the same scripts each time, and the code a plan is made with is the
    code it started with (looking at the package again cost 4 ms a branch)."""
    return library_codes(scripts, package_root, cache_dir=cache_dir)


@lru_cache(maxsize=None)
def _kept_library_code(script: Path, script_source: bytes, package_root: Path, package_digest: str) -> str:
    return library_code(script, package_root)
