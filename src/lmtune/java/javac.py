"""Compile generated Java with the real `javac`, each method wrapped in a class.

All files are compiled in one JVM (javatools/CompileEach.java through the JDK's source
launcher), with annotation processing off, so no code of the model's runs: inside the
operating-system sandbox where there is one, under limits alone where none can start. Each
file is compiled on its own into a folder of its own, so one file's syntax error cannot
hide another's and no file can reach another's classes. A file that declares classes
besides its wrapper is refused (`foreign_class`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lmtune.core import sandbox
from lmtune.java.tasks import wrap_in_class

COMPILE_EACH = Path(__file__).parent / "javatools" / "CompileEach.java"
COMPILE_LIMITS = sandbox.Limits(wall_s=600, cpu_s=1200, address_space_mb=4096)
COMPILER_FLAGS = ("-Xmx768m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
                  "-XX:+DisplayVMOutputToStderr", "-Dfile.encoding=UTF-8")
# CompileEach's status of a file: the reason a verdict gives when it did not compile.
REASON_OF_STATUS = {"ok": "ok", "error": "syntax_error", "foreign": "foreign_class"}


@dataclass(frozen=True)
class CompileResult:
    compiled: bool
    message: str
    reason: str = "ok"  # ok, syntax_error or foreign_class


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


@lru_cache(maxsize=4)
def jdk_paths(java: str) -> tuple[Path, ...]:
    """What a sandbox must show read-only for this JDK to run, beyond its system folders:
    the JDK's own folder where it lies elsewhere, and the folders its links point into
    (Debian's JDKs keep their configuration under /etc/java-N-openjdk)."""
    home = Path(java).resolve().parents[1]
    system = [Path(p) for p in sandbox.SYSTEM_PATHS if os.path.isdir(p) and not os.path.islink(p)]

    def outside(path: Path) -> bool:
        return not any(path.is_relative_to(p) for p in system)

    paths = {home} if outside(home) else set()
    for folder, subfolders, names in os.walk(home):
        for name in [*subfolders, *names]:
            link = Path(folder) / name
            if link.is_symlink() and outside(target := link.resolve()) and target.exists():
                paths.add(target.parent)
    return tuple(p for p in sorted(paths) if not any(p != q and p.is_relative_to(q) for q in paths))


def compile_files(paths: list[Path], out_dir: Path, java: str, box: sandbox.Sandbox) -> list[CompileResult]:
    """Compile each source file on its own into `out_dir/<its name>/`, all in one
    sandboxed JVM that reads the sources and writes only `out_dir`."""
    command = [java, *COMPILER_FLAGS, str(COMPILE_EACH), str(out_dir), *map(str, paths)]
    read_only = sorted({COMPILE_EACH.parent, *(path.parent for path in paths), *jdk_paths(java)})
    with box.start(command, read_only=read_only, writable=[out_dir], limits=COMPILE_LIMITS, keep_errors=True) as run:
        lines = list(run.lines())
        status, errors = run.returncode(), run.error_tail()
    results = {}
    for line in lines:
        path, state, message = (line.split("\t", 2) + ["", ""])[:3]
        if state in REASON_OF_STATUS:
            results[path] = CompileResult(state == "ok", message, REASON_OF_STATUS[state])
    missing = [path for path in paths if str(path) not in results]
    if missing:
        why = "timed out" if run.timed_out else f"exit status {status}"
        raise RuntimeError(f"the Java compiler stopped before {missing[0].name} ({why}; {len(missing)} files not compiled):\n{errors}")
    return [results[str(path)] for path in paths]


def compile_methods(methods: list[str], java: str | None = None) -> list[CompileResult]:
    """Compile each generated method inside a class of its own."""
    java = java or find_jdk()
    if java is None:
        raise FileNotFoundError("no JDK found (javac not on PATH and JAVA_HOME unset)")
    box = sandbox.tool_sandbox()
    if box is None:
        raise RuntimeError("no prlimit (util-linux) to compile model-written code under limits")
    if not methods:
        return []
    with tempfile.TemporaryDirectory(prefix="lmtune-javac-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        files = []
        for index, code in enumerate(methods):
            files.append(work / f"Generated{index}.java")
            files[-1].write_text(wrap_in_class(code, f"Generated{index}"), encoding="utf-8")
            files[-1].chmod(0o644)
        (work / "classes").mkdir()
        return compile_files(files, work / "classes", java, box)
