"""Judge generated Java at three levels: it compiles (syntax), it defines the method the
task asks for (signature), and it behaves like the reference method (functional, pass@1
as in HumanEval-X and MultiPL-E).

The functional check runs the generated method and the reference on the same inputs, a
fixed set per task drawn from the parameter types with a seed taken from the reference
(boundary values first), and compares return value and printed output; getters and
setters go through an instance and the field the instruction names. Inputs on which the
reference itself throws (`a % 0`, the largest element of an empty array) set no
expectation and are skipped.

Model-written code runs in one harness JVM per batch (javatools/RunChecks.java), each
item under its own time limit, with a capped heap, a temporary working directory, no
network namespace where the OS allows one, and a security manager that stops it exiting
the JVM, writing files, starting processes, opening sockets or creating threads. An
item that overruns its limit is recorded as a timeout and a fresh JVM takes the rest.
"""

from __future__ import annotations

import base64
import hashlib
import queue
import random
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from lmtune.java.tasks import WORDS, normalise, wrap_in_class
from lmtune.java.javac import compile_files, find_jdk

RUN_CHECKS = Path(__file__).parent / "javatools" / "RunChecks.java"
TIME_LIMIT_S = 5.0  # per item, its reference and generated runs on every input together
HEAP_MB = 256
STARTUP_GRACE_S = 30.0  # a JVM's start on a loaded machine, beyond the item's own limit
RANDOM_CASES = 8
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

# Why an item failed, the first level it failed at; "ok" passed all three. The README's
# Java section defines each.
REASONS = (
    "ok", "syntax_error", "wrong_signature", "not_loadable", "missing_field", "wrong_output", "exception",
    "forbidden", "out_of_memory", "timeout", "crashed", "no_inputs", "harness_error", "not_measured",
)


@dataclass(frozen=True)
class MethodSpec:
    """What a reference method asks for, read from its source."""

    name: str
    returns: str
    parameters: tuple[str, ...]  # Java types, in order
    field: str | None = None  # getters and setters: the field they read or write
    field_type: str | None = None

    @property
    def kind(self) -> str:
        """How it is called: on its own, or through an instance's field."""
        if self.field is None:
            return "call"
        return "setter" if self.parameters else "getter"

    @property
    def input_types(self) -> tuple[str, ...]:
        """The types of one input: the parameters, or for a getter the field's value."""
        return (self.field_type,) if self.kind == "getter" else self.parameters


_METHOD = re.compile(r"^\s*(?:public|protected|private)?\s*(?:static\s+)?([\w\[\]<>]+)\s+(\w+)\s*\(([^)]*)\)\s*\{", re.M)
_FIELD = re.compile(r"^\s*private\s+([\w\[\]<>]+)\s+(\w+)\s*;", re.M)


def method_spec(reference: str) -> MethodSpec:
    match = _METHOD.search(reference)
    if match is None:
        raise ValueError(f"no method in reference code:\n{reference}")
    returns, name, params = match.groups()
    parameters = tuple(p.strip().rsplit(None, 1)[0] for p in params.split(",") if p.strip())
    field = _FIELD.search(reference)
    return MethodSpec(name, returns, parameters, *(field.group(2), field.group(1)) if field else (None, None))


def _boundary_values(java_type: str, literals: list[int]) -> list:
    if java_type == "int":
        return [0, 1, -1, INT_MIN, INT_MAX, *(n + d for n in literals for d in (-1, 0, 1))]
    if java_type == "double":
        return [0.0, 1.0, -1.0, 0.5, -2.75, 1e9]
    if java_type == "boolean":
        return [True, False]
    if java_type == "String":
        return ["", "a", "Hola Mundo", "ñandú café", "  two  spaces ", None]
    if java_type == "int[]":
        return [[], [0], [-1], [INT_MIN, INT_MAX], [3, 1, 2, 8, 5], None]
    raise ValueError(f"no test inputs for Java type {java_type!r}")


def _random_value(java_type: str, rng: random.Random):
    if java_type == "int":
        return rng.choice([rng.randint(-100, 100), rng.randint(-10**6, 10**6)])
    if java_type == "double":
        return round(rng.uniform(-1000, 1000), 3)
    if java_type == "boolean":
        return rng.random() < 0.5
    if java_type == "String":
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
    if java_type == "int[]":
        return [rng.randint(-50, 50) for _ in range(rng.randint(1, 8))]
    raise ValueError(f"no test inputs for Java type {java_type!r}")


def method_inputs(reference: str) -> list[list]:
    """The inputs both methods are run on: each boundary value of each parameter (integer
    literals of the reference and their neighbours included, so `> 42` is told from
    `>= 42`) with the other parameters drawn at random, then fully random cases. Seeded by
    the reference's text: the same task always gets the same inputs."""
    types = method_spec(reference).input_types
    if not types:
        return [[]]
    rng = random.Random(int.from_bytes(hashlib.sha256(reference.encode()).digest()[:8], "big"))
    literals = sorted({int(n) for n in re.findall(r"(?<![\w.])\d+(?![\w.])", reference.split("{", 1)[1])})
    cases = []
    for position, java_type in enumerate(types):
        for value in _boundary_values(java_type, literals):
            case = [_random_value(t, rng) for t in types]
            case[position] = value
            cases.append(case)
    cases += [[_random_value(t, rng) for t in types] for _ in range(RANDOM_CASES)]
    unique = {repr(case): case for case in cases}
    return list(unique.values())


def _encode(value) -> str:
    """One argument in RunChecks's input format."""
    if value is None:
        return "n"
    if isinstance(value, bool):
        return f"z:{str(value).lower()}"
    if isinstance(value, int):
        return f"i:{value}"
    if isinstance(value, float):
        return f"d:{value!r}"
    if isinstance(value, str):
        return "s:" + base64.b64encode(value.encode()).decode()
    if isinstance(value, list):
        return "a:" + ",".join(str(v) for v in value)
    raise TypeError(f"cannot pass {value!r} to Java")


@dataclass(frozen=True)
class JavaVerdict:
    # None: not measured (no JDK); code that fails a level fails every level above it.
    compiles: bool | None
    signature: bool | None
    functional: bool | None
    reason: str  # one of REASONS
    detail: str  # the first javac error, the failing input, ...

    def to_dict(self) -> dict:
        return asdict(self)


NOT_MEASURED = JavaVerdict(None, None, None, "not_measured", "no JDK found")


@lru_cache(maxsize=1)
def _no_network_prefix() -> tuple[str, ...]:
    """`unshare -rn` runs the JVM in a network namespace of its own (no interfaces but a
    loopback that is down) where the kernel allows unprivileged user namespaces."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-rn", "true"], capture_output=True, check=False).returncode == 0:
        return (unshare, "-rn")
    return ()


def _run_harness(java: str, classes: Path, items: list[str], work: Path, time_limit: float) -> list[tuple[bool, str, str]]:
    """(signature, reason, detail) per item line, through as many JVMs as timeouts need."""
    items_file = work / "items.tsv"
    items_file.write_text("".join(line + "\n" for line in items), encoding="utf-8")
    results: list[tuple[bool, str, str]] = []
    command = [
        *_no_network_prefix(), java, "-Djava.security.manager=allow", f"-Xmx{HEAP_MB}m", "-Xss4m",
        "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", f"-Djava.io.tmpdir={work}",
        "-cp", str(classes), "RunChecks", str(items_file), str(int(time_limit * 1000)),
    ]
    while len(results) < len(items):
        process = subprocess.Popen(
            [*command, str(len(results))], cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, encoding="utf-8",
        )
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in process.stdout] + [lines.put(None)], daemon=True).start()
        deadline = STARTUP_GRACE_S + time_limit
        while len(results) < len(items):
            try:
                line = lines.get(timeout=deadline)
            except queue.Empty:  # the harness itself hangs: the item in hand is to blame
                process.kill()
                results.append((True, "timeout", f"no answer from the harness in {deadline:.0f} s"))
                break
            if line is None:  # the JVM ended before reporting this item
                if process.wait() != 3:  # 3: it halted after reporting a timeout
                    results.append((False, "crashed", f"the harness JVM exited with status {process.returncode}"))
                break
            _, signature, reason, detail = line.rstrip("\n").split("\t", 3)
            results.append((signature == "1", reason, detail))
            deadline = time_limit + STARTUP_GRACE_S / 3
        process.kill()
        process.wait()
    return results


def check_methods(
    generated: list[str], references: list[str], java: str | None = None, time_limit: float = TIME_LIMIT_S
) -> list[JavaVerdict]:
    """Judge each generated method against its reference, all in one batch."""
    java = java or find_jdk()
    if java is None:
        return [NOT_MEASURED] * len(generated)
    if not generated:
        return []
    with tempfile.TemporaryDirectory(prefix="lmtune-java-") as tmp:
        work = Path(tmp)
        sources, classes = work / "src", work / "classes"
        sources.mkdir()
        distinct = list(dict.fromkeys(references))
        reference_files = []
        for index, code in enumerate(distinct):
            reference_files.append(sources / f"Reference{index}.java")
            reference_files[-1].write_text(wrap_in_class(code, f"Reference{index}"), encoding="utf-8")
        generated_files = []
        for index, code in enumerate(generated):
            generated_files.append(sources / f"Generated{index}.java")
            generated_files[-1].write_text(wrap_in_class(code, f"Generated{index}"), encoding="utf-8")
        harness = sources / RUN_CHECKS.name
        shutil.copy(RUN_CHECKS, harness)
        compiled = compile_files([harness, *reference_files, *generated_files], classes, java)
        if not all(result.compiled for result in compiled[: 1 + len(distinct)]):
            failed = [r.message for r in compiled[: 1 + len(distinct)] if not r.compiled]
            raise RuntimeError(f"the harness or a reference method does not compile: {failed[:3]}")
        syntax = compiled[1 + len(distinct):]
        items, item_of = [], {}
        for index, (code, reference, result) in enumerate(zip(generated, references, syntax)):
            if not result.compiled:
                continue
            spec = method_spec(reference)
            cases = "|".join(";".join(_encode(v) for v in case) for case in method_inputs(reference))
            item_of[index] = len(items)
            items.append("\t".join([
                str(index), spec.kind, f"Reference{distinct.index(reference)}", f"Generated{index}", spec.name,
                spec.field or "-", cases,
            ]))
        outcomes = _run_harness(java, classes, items, work, time_limit) if items else []
    verdicts = []
    for index, result in enumerate(syntax):
        if not result.compiled:
            verdicts.append(JavaVerdict(False, False, False, "syntax_error", result.message))
            continue
        signature, reason, detail = outcomes[item_of[index]]
        verdicts.append(JavaVerdict(True, signature, reason == "ok", reason, detail))
    return verdicts


def judge_generations(records: list[dict], java: str | None = None, time_limit: float = TIME_LIMIT_S) -> list[dict]:
    """Generation records (`generated`, `reference`) with every verdict: exact match
    (CONCODE's whitespace-split comparison) and the three levels, in one batch."""
    verdicts = check_methods([r["generated"] for r in records], [r["reference"] for r in records], java, time_limit)
    return [
        {
            # Generations saved before the three levels carry a verdict of their own.
            **{key: value for key, value in record.items() if key not in ("compiles", "compile_error")},
            "exact_match": normalise(record["generated"]) == normalise(record["reference"]),
            **verdict.to_dict(),
        }
        for record, verdict in zip(records, verdicts)
    ]
