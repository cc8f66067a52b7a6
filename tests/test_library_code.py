"""A job reruns when the library code its script runs changes (lmtune.core.fingerprint.
library_code): what a script runs is read from the source, and only a change of what the
code does counts."""

from __future__ import annotations

from pathlib import Path

from lmtune.pipeline.library_code import library_code, library_codes, library_modules

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "workflow" / "scripts"
PACKAGE = REPO / "src" / "lmtune"


def modules_of(script: str) -> set[str]:
    return {path.relative_to(PACKAGE).as_posix() for path in library_modules(SCRIPTS / script, PACKAGE)}


def test_a_script_runs_what_it_imports_and_not_the_rest_of_the_library():
    scoring = modules_of("score_java.py")
    # Imported at the top of the script, inside a function of a module, and the packages on the way.
    assert {"java/checks.py", "java/javac.py", "java/plots.py", "pipeline/jobs.py", "java/__init__.py", "__init__.py"} <= scoring
    assert not {"core/training.py", "recipe.py", "core/generation.py", "continual/corpus.py"} & scoring
    assert "core/training.py" in modules_of("train.py")


def test_a_plug_in_registry_runs_every_plug_in_beside_it():
    plug_ins = {f"continual/strategies/{p.name}" for p in (PACKAGE / "continual/strategies").glob("*.py")}
    assert len(plug_ins) > 3
    assert plug_ins <= modules_of("train.py")


def write_package(root: Path, modules: dict[str, str]) -> Path:
    for name, source in modules.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root / "pkg"


def test_relative_and_function_level_imports_are_followed(tmp_path):
    package = write_package(tmp_path, {
        "__init__.py": "",
        "a.py": "def f():\n    from .sub import b\n    return b\n",
        "sub/__init__.py": "from . import c\n",
        "sub/b.py": "X = 1\n",
        "sub/c.py": "from ..d import Y\n",
        "d.py": "Y = 2\n",
        "unused.py": "Z = 3\n",
    })
    script = tmp_path / "script.py"
    script.write_text("from pkg.a import f\n")
    found = {p.relative_to(package).as_posix() for p in library_modules(script, package)}
    assert found == {"__init__.py", "a.py", "sub/__init__.py", "sub/b.py", "sub/c.py", "d.py"}


def test_a_comment_or_layout_leaves_the_hash_and_a_change_of_code_changes_it(tmp_path):
    package = write_package(tmp_path, {"__init__.py": "", "a.py": "def f(x):\n    return x + 1\n", "b.py": "V = 1\n"})
    script = tmp_path / "script.py"
    script.write_text("from pkg import a\n")
    before = library_code(script, package)

    (package / "a.py").write_text("# why it adds one\ndef f( x ):\n\n    return x+1  # one\n")
    assert library_code(script, package) == before
    (package / "b.py").write_text("V = 2\n")  # not run by the script
    assert library_code(script, package) == before

    (package / "a.py").write_text("def f(x):\n    return x + 2\n")
    assert library_code(script, package) != before


def test_the_answers_kept_for_a_study_follow_the_code(tmp_path):
    package = write_package(tmp_path, {"__init__.py": "", "a.py": "def f(x):\n    return x + 1\n"})
    script = tmp_path / "script.py"
    script.write_text("from pkg import a\n")
    first = library_codes([script], package)[script]
    assert first == library_codes([script], package)[script] == library_code(script, package)

    (package / "a.py").write_text("def f(x):\n    return x + 2\n")
    assert library_codes([script], package)[script] == library_code(script, package) != first


def test_the_answers_kept_on_disk_are_those_of_the_current_code(tmp_path, monkeypatch):
    from lmtune.pipeline import library_code as fingerprint

    package = write_package(tmp_path, {"__init__.py": "", "a.py": "def f(x):\n    return x + 1\n"})
    script = tmp_path / "script.py"
    script.write_text("from pkg import a\n")
    cache = tmp_path / "cache"
    first = library_codes([script], package, cache_dir=cache)[script]
    assert first == library_code(script, package) and len(list(cache.iterdir())) == 1

    # A later load of the workflow (a new process) reads the kept answer: nothing parsed.
    fingerprint._kept_library_code.cache_clear()
    fingerprint._parse_module.cache_clear()
    monkeypatch.setattr(fingerprint, "_parse_module", None)
    assert library_codes([script], package, cache_dir=cache)[script] == first
    monkeypatch.undo()

    # Changed code, or a changed script, is another answer, and the only one kept.
    (package / "a.py").write_text("def f(x):\n    return x + 2\n")
    changed = library_codes([script], package, cache_dir=cache)[script]
    assert changed == library_code(script, package) != first
    script.write_text("from pkg import a\nfrom pkg import b\n")
    (package / "b.py").write_text("V = 2\n")
    assert library_codes([script], package, cache_dir=cache)[script] == library_code(script, package) != changed
    assert len(list(cache.iterdir())) == 1
    # A kept file cut short is computed again.
    next(cache.iterdir()).write_text('{"')
    assert library_codes([script], package, cache_dir=cache)[script] == library_code(script, package)
