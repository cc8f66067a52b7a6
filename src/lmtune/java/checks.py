"""Judge generated Java at three levels: it compiles (syntax), it defines the method the
task asks for (signature), and it behaves like the reference method (functional, pass@1
as in HumanEval-X and MultiPL-E).

The functional check runs the generated method and the reference on the same inputs, a
fixed set per task drawn from the parameter types with a seed taken from the reference
(boundary values first), and compares return value and printed output; getters and
setters go through an instance and the field the instruction names. Inputs on which the
reference itself throws (`a % 0`, the largest element of an empty array) set no
expectation and are skipped.

Model-written code runs only inside an operating-system sandbox (`lmtune.core.sandbox`)
that hides the file system (bubblewrap), or under unshare where the caller opts in:
each generation is compiled on its own (a generation that declares classes besides its
wrapper is refused) and run alone in a JVM of its own, which sees its own class and the
probe (javatools/Probe.java), never a reference, the harness's verdicts or another
generation. The references run in a JVM of their own beforehand; the probe only reports
what a method returned and printed, in lines that carry a nonce the code under test
never sees, and the verdict is reached here by comparing the two reports.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import re
import secrets
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lmtune.core import sandbox
from lmtune.java.javac import compile_files, find_jdk, jdk_paths
from lmtune.java.tasks import WORDS, normalise, wrap_in_class

PROBE = Path(__file__).parent / "javatools" / "Probe.java"
TIME_LIMIT_S = 5.0  # per generated method, its runs on every input together
HEAP_MB = 256
STARTUP_GRACE_S = 30.0  # a JVM's start on a loaded machine, before the time limit starts
RANDOM_CASES = 8
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
DETAIL_CHARS = 300  # of a verdict's detail: what the code printed never goes further

# Why an item failed, the first level it failed at; "ok" passed all three. The README's
# Java section defines each.
REASONS = (
    "ok", "syntax_error", "foreign_class", "wrong_signature", "not_loadable", "missing_field", "wrong_output",
    "exception", "out_of_memory", "timeout", "crashed", "no_inputs", "harness_error", "not_measured",
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


NO_SANDBOX = JavaVerdict(None, None, None, "not_measured", "no prlimit (util-linux) to run the compiler under limits")
# The setting that lets model-written code run under unshare, which isolates network and
# processes but not files; and what a run without bubblewrap says of it, once.
OPT_IN = "java.sandbox.allow_without_filesystem_isolation"
NEEDS_BUBBLEWRAP = (
    "bubblewrap (bwrap) cannot run here, so no model-written code runs: compiling is measured, the signature and "
    "functional levels are not_measured. To measure them, install bubblewrap (`make run` does, with sudo when not "
    f"root; or `apt-get install bubblewrap`), or set {OPT_IN}: true to run the code under unshare, where it can "
    "read and write every file of the user who runs the workflow"
)
NOT_SANDBOXED = JavaVerdict(True, None, None, "not_measured", "needs bubblewrap, or " + OPT_IN)
JVM_FLAGS = (
    # The JVM's own messages (warnings, unified logging) go to standard error: standard
    # output is the probe's report.
    "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", "-XX:+DisplayVMOutputToStderr",
    "-Xlog:disable", "-Xlog:all=warning:stderr",
    "-XX:MaxMetaspaceSize=128m", "-XX:CompressedClassSpaceSize=64m", "-XX:ReservedCodeCacheSize=32m",
    "-XX:MaxDirectMemorySize=64m", "-Dfile.encoding=UTF-8", "-Djava.io.tmpdir=.",
)
PROBE_FLAGS = (f"-Xmx{HEAP_MB}m", "-Xss4m", *JVM_FLAGS)


@dataclass
class _Observed:
    """What a probe reported of one item, in order; `failure` stops the reading."""

    signature: list[str] | None = None  # return type, parameter types, field type, static
    declared: str = ""  # the class's methods, when the asked-for one is missing
    cases: list[list[str]] = field(default_factory=list)  # per case: its report's words
    started: bool = False
    done: bool = False
    failure: tuple[str, str] | None = None  # (reason, detail) read off early


class _Protocol:
    """Reads a probe's lines for the expected items: only lines that carry the run's nonce
    and follow the protocol's order; anything else makes the item a harness error."""

    def __init__(self, nonce: str, ids: list[str]):
        self.nonce, self.items = nonce, {id_: _Observed() for id_ in ids}

    def read(self, line: str) -> _Observed | None:
        """The item the line is about, or None when the line breaks the protocol (the item
        it names, where it names one it may, is then marked)."""
        words = line.split("\t")
        if len(words) < 3 or words[0] != self.nonce or words[1] not in self.items:
            return None
        item, word, rest = self.items[words[1]], words[2], words[3:]
        if item.done or item.failure:
            item.failure = ("harness_error", "a result line after the item's end")
        elif word == "signature" and item.signature is None and len(rest) == 4:
            item.signature = rest
        elif word == "no_method" and item.signature is None and len(rest) == 1:
            item.declared, item.done = rest[0], True
        elif word == "not_loadable" and item.signature is None and len(rest) == 1:
            item.failure = ("not_loadable", _unhead(rest[0]))
        elif word == "start" and item.signature is not None and not item.started and not rest:
            item.started = True
        elif word == "case" and item.started and rest[:1] == [str(len(item.cases))] and len(rest) in (4, 6):
            item.cases.append(rest[1:])
        elif word == "done" and item.signature is not None and not rest:
            item.done = True
        else:
            item.failure = ("harness_error", "an unreadable, duplicate or out-of-order result line")
        return item


def _unhead(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", errors="replace")
    except ValueError:
        return "?"


def _render(value) -> str:
    """An argument as the probe renders values (Java's toString with its type), for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"Boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"Integer {value}"
    if isinstance(value, float):
        return f"Double {value!r}"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "int[][" + ", ".join(map(str, value)) + "]"


def _item_line(id_: str, spec: MethodSpec, class_name: str, parameters: str, cases: list[list]) -> str:
    encoded = "|".join(";".join(_encode(v) for v in case) for case in cases)
    return "\t".join([id_, spec.kind, class_name, spec.name, parameters, spec.field or "-", str(len(cases)), encoded])


def _probe(box: sandbox.Sandbox, java: str, classpath: list[Path], items: list[str], ids: list[str], *,
           limits: sandbox.Limits, time_limit: float | None, decide=None) -> tuple[_Protocol, sandbox.Run]:
    """Run the probe on `items` in one sandboxed JVM and read its report. `decide(item)`
    may end the reading early (the generated method has already failed). With a
    `time_limit`, the cases get that long from the probe's `start`."""
    nonce = secrets.token_hex(16)
    protocol = _Protocol(nonce, ids)
    command = [java, *PROBE_FLAGS, "-cp", ":".join(map(str, classpath)), "Probe"]
    stdin = (nonce + "\n" + "".join(line + "\n" for line in items)).encode()
    with box.start(command, stdin=stdin, read_only=[*classpath, *jdk_paths(java)], limits=limits) as run:
        for line in run.lines():
            item = protocol.read(line)
            if item is None:
                for observed in protocol.items.values():  # which item wrote it cannot be told
                    if not observed.done:
                        observed.failure = observed.failure or ("harness_error", "an unreadable result line")
                break
            if time_limit is not None and item.started and not item.cases:
                run.extend(time_limit)
            if item.failure or (decide and decide(item)) or all(o.done or o.failure for o in protocol.items.values()):
                break
    return protocol, run


@dataclass(frozen=True)
class _Expected:
    """A reference's signature and its observed cases, those on which it does not throw."""

    spec: MethodSpec
    signature: list[str]
    cases: list[list]
    outcomes: list[list[str]]


def _expected(box, java, probe_classes: Path, classes: Path, references: list[str]) -> list[_Expected]:
    """Every distinct reference run on its inputs, all in one sandboxed JVM."""
    specs = [method_spec(code) for code in references]
    inputs = [method_inputs(code) for code in references]
    ids = [f"Reference{index}" for index in range(len(references))]
    items = [_item_line(id_, spec, id_, "*", cases) for id_, spec, cases in zip(ids, specs, inputs)]
    limits = sandbox.Limits(wall_s=STARTUP_GRACE_S + TIME_LIMIT_S * len(references))
    protocol, run = _probe(box, java, [probe_classes, *(classes / i for i in ids)], items, ids, limits=limits,
                           time_limit=None)
    expected = []
    for code, spec, id_, cases in zip(references, specs, ids, inputs):
        observed = protocol.items[id_]
        if not observed.done or observed.failure or len(observed.cases) != len(cases):
            raise RuntimeError(f"the probe could not run reference method {id_} ({observed.failure or 'no report'}; "
                               f"JVM exit status {run.returncode()}, timed out: {run.timed_out}):\n{code}")
        kept = [(case, outcome) for case, outcome in zip(cases, observed.cases) if outcome[0] == "value"]
        expected.append(_Expected(spec, observed.signature, [c for c, _ in kept], [o for _, o in kept]))
    return expected


def _judge(observed: _Observed, expected: _Expected, run: sandbox.Run | None) -> tuple[bool, str, str]:
    """(signature, reason, detail) of a generated method from what its probe reported."""
    spec, want = expected.spec, expected.signature
    wanted = f"{want[0]} {spec.name}({want[1]})"
    if observed.declared:
        return False, "wrong_signature", f"wanted {wanted}; found {observed.declared}"
    if observed.signature is not None and observed.signature[0] != want[0]:
        return False, "wrong_signature", f"wanted {wanted}; found {observed.signature[0]} {spec.name}({want[1]})"
    if observed.signature is not None and spec.field and observed.signature[2:] != want[2:]:
        return True, "missing_field", f"wanted field {want[2]} {spec.field}"
    for case, (want_case, got) in enumerate(zip(expected.outcomes, observed.cases)):
        call = f"{spec.name}({', '.join(map(_render, expected.cases[case]))})"
        if got[0] == "thrown":
            return True, got[1], f"{call}: {_unhead(got[2])}"
        if got[1] != want_case[1] or got[3] != want_case[3]:
            return True, "wrong_output", (f"{call}: expected {_unhead(want_case[2])} printing {_unhead(want_case[4])!r}, "
                                          f"got {_unhead(got[2])} printing {_unhead(got[4])!r}")
    signature = observed.signature is not None
    if observed.failure:
        return (signature, *observed.failure)
    if observed.done and len(observed.cases) == len(expected.outcomes):
        if not expected.outcomes:
            return True, "no_inputs", "the reference throws on every input"
        return True, "ok", f"{len(expected.outcomes)} inputs"
    if run is not None and run.overflowed:
        return signature, "harness_error", f"wrote more than {run.limits.output_bytes} bytes to its standard output"
    if run is not None and run.timed_out:
        where = f"{len(observed.cases)} of {len(expected.outcomes)} inputs done" if observed.started else "before the first input"
        return signature, "timeout", f"still running at its time limit ({where})"
    status = run.returncode() if run is not None else None
    return signature, "crashed", f"the JVM ended (status {status}) after {len(observed.cases)} of {len(expected.outcomes)} inputs"


def _check_generated(box, java, probe_classes: Path, classes: Path, index: int, expected: _Expected,
                     time_limit: float) -> tuple[bool, str, str]:
    """One generated method, alone in a sandboxed JVM of its own."""
    id_ = f"Generated{index}"
    item = _item_line(id_, expected.spec, id_, expected.signature[1], expected.cases)

    def decided(observed: _Observed) -> bool:
        return observed.declared != "" or _judge(observed, expected, None)[1] not in ("ok", "no_inputs", "crashed")

    limits = sandbox.Limits(wall_s=STARTUP_GRACE_S + time_limit, cpu_s=int(STARTUP_GRACE_S + 2 * time_limit))
    protocol, run = _probe(box, java, [probe_classes, classes / id_], [item], [id_], limits=limits,
                           time_limit=time_limit, decide=decided)
    return _judge(protocol.items[id_], expected, run)


def check_methods(
    generated: list[str], references: list[str], java: str | None = None, time_limit: float = TIME_LIMIT_S,
    workers: int | None = None, allow_without_filesystem_isolation: bool = False,
) -> list[JavaVerdict]:
    """Judge each generated method against its reference. Every generation is compiled on
    its own and run in an OS sandbox of its own (`lmtune.core.sandbox`), on `workers`
    at a time; the references run in another, and the comparison happens here. Without
    bubblewrap (and without the opt-in to unshare) nothing of the model's runs: what
    compiles is `not_measured` at the levels above."""
    java = java or find_jdk()
    if java is None:
        return [NOT_MEASURED] * len(generated)
    if not generated:
        return []
    box = sandbox.tool_sandbox()
    if box is None:
        return [NO_SANDBOX] * len(generated)
    code_box = sandbox.code_sandbox(allow_without_filesystem_isolation)
    workers = workers or len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="lmtune-java-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # a run's own user reads the classes
        sources, classes = work / "src", work / "classes"
        sources.mkdir(mode=0o755)
        classes.mkdir(mode=0o755)
        distinct = list(dict.fromkeys(references))
        files = [sources / PROBE.name]
        shutil.copy(PROBE, files[0])
        for prefix, codes in (("Reference", distinct), ("Generated", generated)):
            for index, code in enumerate(codes):
                files.append(sources / f"{prefix}{index}.java")
                files[-1].write_text(wrap_in_class(code, f"{prefix}{index}"), encoding="utf-8")
        for path in files:
            path.chmod(0o644)
        compiled = compile_files(files, classes, java, box)
        trusted = compiled[: 1 + len(distinct)]
        if not all(result.compiled for result in trusted):
            raise RuntimeError(f"the probe or a reference method does not compile: {[r.message for r in trusted if not r.compiled][:3]}")
        syntax = compiled[1 + len(distinct):]
        runnable = [index for index, result in enumerate(syntax) if result.compiled] if code_box else []
        if runnable:
            expected = _expected(code_box, java, classes / "Probe", classes, distinct)

        def check(index: int) -> tuple[bool, str, str]:
            return _check_generated(code_box, java, classes / "Probe", classes, index,
                                    expected[distinct.index(references[index])], time_limit)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = dict(zip(runnable, pool.map(check, runnable)))
    verdicts = []
    for index, result in enumerate(syntax):
        if not result.compiled:
            verdicts.append(JavaVerdict(False, False, False, result.reason, result.message))
            continue
        if code_box is None:
            verdicts.append(NOT_SANDBOXED)
            continue
        signature, reason, detail = outcomes[index]
        verdicts.append(JavaVerdict(True, signature, reason == "ok", reason, detail[:DETAIL_CHARS]))
    return verdicts


def judge_generations(
    records: list[dict], java: str | None = None, time_limit: float = TIME_LIMIT_S, workers: int | None = None,
    allow_without_filesystem_isolation: bool = False,
) -> list[dict]:
    """Generation records (`generated`, `reference`) with every verdict: exact match
    (CONCODE's whitespace-split comparison) and the three levels, in one batch."""
    verdicts = check_methods([r["generated"] for r in records], [r["reference"] for r in records], java, time_limit,
                             workers, allow_without_filesystem_isolation)
    return [
        {
            # Generations saved before the three levels carry a verdict of their own.
            **{key: value for key, value in record.items() if key not in ("compiles", "compile_error")},
            "exact_match": normalise(record["generated"]) == normalise(record["reference"]),
            **verdict.to_dict(),
        }
        for record, verdict in zip(records, verdicts)
    ]
