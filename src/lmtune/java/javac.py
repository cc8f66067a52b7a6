"""Compile generated Java with the real `javac`, each method wrapped in a class.

All files are compiled in one JVM (javatools/CompileEach.java through the JDK's source
launcher), but each on its own, so one file's syntax error cannot hide another's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lmtune.java.tasks import wrap_in_class

COMPILE_EACH = Path(__file__).parent / "javatools" / "CompileEach.java"


@dataclass(frozen=True)
class CompileResult:
    compiled: bool
    message: str


def find_jdk() -> str | None:
    """The `java` launcher of a JDK (one that ships javac), or None."""
    for home in filter(None, [os.environ.get("JAVA_HOME")]):
        if (Path(home) / "bin" / "javac").exists():
            return str(Path(home) / "bin" / "java")
    javac = shutil.which("javac")
    if javac:
        java = Path(os.path.realpath(javac)).parent / "java"
        return str(java) if java.exists() else shutil.which("java")
    return None


def compile_files(paths: list[Path], out_dir: Path, java: str, timeout: float = 600) -> list[CompileResult]:
    """Compile each source file on its own into `out_dir`, all in one JVM."""
    run = subprocess.run(
        [java, str(COMPILE_EACH), str(out_dir), *map(str, paths)],
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(f"the Java compiler could not run: {run.stderr.strip()}")
    results = {}
    for line in run.stdout.splitlines():
        path, status, message = line.split("\t", 2)
        results[path] = CompileResult(status == "ok", message.replace(str(Path(path).parent) + os.sep, ""))
    return [results[str(path)] for path in paths]


def compile_methods(methods: list[str], java: str | None = None, timeout: float = 600) -> list[CompileResult]:
    """Compile each generated method inside a class of its own."""
    java = java or find_jdk()
    if java is None:
        raise FileNotFoundError("no JDK found (javac not on PATH and JAVA_HOME unset)")
    if not methods:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for index, code in enumerate(methods):
            files.append(Path(tmp) / f"Generated{index}.java")
            files[-1].write_text(wrap_in_class(code, f"Generated{index}"), encoding="utf-8")
        return compile_files(files, Path(tmp) / "classes", java, timeout)
