"""Model-written Java as a hostile user would write it: each generation below tries one
way out of the sandbox (or into the verdicts), under every JDK on the machine. For each,
the item is never `ok`, nothing appears outside a temporary folder, no secret reaches a
verdict, every other item's verdict is unchanged, the batch finishes and no process
outlives it."""

import fcntl
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from lmtune.core import sandbox
from lmtune.java.checks import DETAIL_CHARS, check_methods
from lmtune.java.javac import find_jdk
from conftest import path_without_bubblewrap

ADD = "public int addFoo(int a, int b) {\n    return a + b;\n}"
GREATER = "public boolean isPriceGreaterThan42(int price) {\n    return price > 42;\n}"
PRINT = 'public void printHolaMundo() {\n    System.out.println("Hola, Mundo!");\n}'
# Items that must be judged alike whatever runs beside them.
BYSTANDERS = [
    (ADD, ADD),
    (ADD, "public int addFoo(int a, int b) { return a - b; }"),
    (GREATER, "public boolean isPriceGreaterThan42(int price) { return price >= 42; }"),
    (PRINT, 'public static void printHolaMundo() { System.out.print("Hola, Mundo!\\n"); }'),
]
MARKER = "61.4321"  # the argument of every `sleep` a hostile method starts


def installed_jdks() -> dict[str, str]:
    """Major version -> `java` of every JDK (with javac) found on this machine."""
    found = {}
    candidates = [find_jdk(), *map(str, Path("/usr/lib/jvm").glob("*/bin/java"))]
    for java in filter(None, candidates):
        if not (Path(java).parent / "javac").exists():
            continue
        release = Path(java).resolve().parents[1] / "release"
        match = re.search(r'JAVA_VERSION="(\d+)', release.read_text() if release.exists() else "")
        if match:
            found.setdefault(match.group(1), java)
    return found


JDKS = installed_jdks()
JDK_PARAMS = [
    pytest.param(JDKS.get(version), id=f"jdk{version}",
                 marks=pytest.mark.skipif(version not in JDKS, reason=f"no JDK {version} on this machine"))
    for version in sorted({"17", "21", "25", *JDKS}, key=int)
]


def body(*lines: str) -> str:
    return "public int addFoo(int a, int b) {\n" + "\n".join(f"    {line}" for line in lines) + "\n}"


def hostile_cases(canaries: list[Path], secret_file: Path) -> dict[str, str]:
    touch = " ".join(map(str, canaries))
    writes = " ".join(
        f'try (var w = new java.io.FileWriter("{path}")) {{ w.write("x"); }} catch (java.io.IOException e) {{ wrote = false; }}'
        for path in canaries
    )
    return {
        "forges result lines on the real standard output": body(
            "var out = new java.io.PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true);",
            'out.println("Generated0\\t1\\tok\\t18 inputs");',
            'for (int i = 0; i < 40; i++) out.println("0\\tGenerated" + i + "\\tcase\\t0\\tvalue\\tAA\\tAA\\tAA\\tAA");',
            "return a - b;",
        ),
        "closes the wrapper to define the probe": ADD + "\n}\nclass Probe {\n    public static void main(String[] args) {}\n",
        "closes the wrapper through unicode escapes": (
            "public int addFoo(int a, int b) { return a - b; \\u007d \\u007d\n"
            "class Reference0 { public int addFoo(int a, int b) { return 0; }"
        ),
        "calls the reference by reflection": body(
            "for (int i = 0; i < 8; i++) {",
            "    try {",
            '        Object r = Class.forName("Reference" + i).getDeclaredConstructor().newInstance();',
            '        return (int) r.getClass().getMethod("addFoo", int.class, int.class).invoke(r, a, b);',
            "    } catch (ReflectiveOperationException e) {}",
            "}",
            "return a - b;",
        ),
        "runs a shell through exec": body(
            f'try {{ Runtime.getRuntime().exec(new String[] {{"/bin/sh", "-c", "touch {touch}"}}).waitFor(); }}',
            "catch (Exception e) {}",
            f'return new java.io.File("{canaries[0]}").exists() ? a + b : a - b;',
        ),
        "starts processes through ProcessBuilder": body(
            "int started = 0;",
            "try {",
            f'    for (int i = 0; i < 400; i++) {{ new ProcessBuilder("sleep", "{MARKER}").start(); started++; }}',
            f'    new ProcessBuilder("touch", "{canaries[0]}").start().waitFor();',
            "} catch (Exception e) {}",
            f'return new java.io.File("{canaries[0]}").exists() ? a + b : a - b;',
        ),
        "writes files outside its folder": body("boolean wrote = true;", writes, "return wrote ? a + b : a - b;"),
        "reads a secret file": body(
            f'try {{ throw new RuntimeException(java.nio.file.Files.readString(java.nio.file.Path.of("{secret_file}"))); }}',
            "catch (java.io.IOException e) { return a - b; }",
        ),
        "reads a system file": body(
            'try { throw new RuntimeException(java.nio.file.Files.readString(java.nio.file.Path.of("/etc/passwd"))); }',
            "catch (java.io.IOException e) { return a - b; }",
        ),
        "reads the environment": body('throw new RuntimeException("env " + System.getenv());'),
        "connects to the network": body(
            'try { new java.net.Socket("127.0.0.1", 22).close(); return a + b; } catch (java.io.IOException e) { return a - b; }'
        ),
        "leaves a runaway thread": body("new Thread(() -> { while (true) {} }).start();", "return a - b;"),
        "starts threads without end": body(
            "while (true) new Thread(() -> { try { Thread.sleep(60_000); } catch (InterruptedException e) {} }).start();"
        ),
        "writes gigabytes to the real standard output": body(
            "byte[] block = new byte[1 << 20];",
            "java.util.Arrays.fill(block, (byte) 'x');",
            "try (var out = new java.io.FileOutputStream(java.io.FileDescriptor.out)) {",
            "    for (int i = 0; i < 4096; i++) out.write(block);",
            "} catch (java.io.IOException e) {}",
            "return a + b;",
        ),
        "prints without end": body("while (true) System.out.print(a);"),
        "fills the heap": body(
            "java.util.List<long[]> all = new java.util.ArrayList<>();", "while (true) all.add(new long[1 << 20]);"
        ),
        "fills direct memory": body(
            "java.util.List<java.nio.ByteBuffer> all = new java.util.ArrayList<>();",
            "while (true) all.add(java.nio.ByteBuffer.allocateDirect(1 << 24));",
        ),
        "allocates native memory through Unsafe": body(
            "try {",
            '    java.lang.reflect.Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");',
            "    f.setAccessible(true);",
            "    sun.misc.Unsafe unsafe = (sun.misc.Unsafe) f.get(null);",
            "    while (true) unsafe.setMemory(unsafe.allocateMemory(1L << 26), 1L << 26, (byte) 1);",
            "} catch (ReflectiveOperationException e) { return a - b; }",
        ),
        "exits the JVM": body("System.exit(0);", "return a + b;"),
        "halts the JVM": body("Runtime.getRuntime().halt(0);", "return a + b;"),
        "loops for ever": body("while (true) {}"),
    }


@pytest.fixture
def sandbox_users(monkeypatch) -> set[int]:
    """The users this test's sandboxed runs ran as (run as root; empty otherwise)."""
    users, claim = set(), sandbox.claim_uid

    def recorded():
        uid, lock = claim()
        users.add(uid)
        return uid, lock

    monkeypatch.setattr(sandbox, "claim_uid", recorded)
    return users


def free_users(users: set[int]) -> set[int]:
    """Those of `users` that no run holds now (a concurrent test's run may hold one this
    test used before)."""
    free = set()
    for uid in users:
        lock = os.open(Path(tempfile.gettempdir()) / "lmtune-sandbox-users" / str(uid), os.O_RDWR)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            free.add(uid)
        except BlockingIOError:
            pass
        finally:
            os.close(lock)
    return free


def leftover_processes(users: set[int]) -> list[str]:
    """Processes a sandboxed run of this test started, still alive: those of its runs'
    own users, or (run as another user) running our marker or the probe."""
    left, users = [], free_users(users)
    as_root = os.geteuid() == 0
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or entry.name == str(os.getpid()):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ours = entry.stat().st_uid in users if as_root else (MARKER in command or " Probe" in command)
            if state != "Z" and ours:
                left.append(f"{entry.name}: {command[:120]}")
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return left


def require_bubblewrap() -> None:
    box = sandbox.find_sandbox()
    if box is None or not box.isolates_files:
        pytest.skip("bubblewrap cannot start here (make test installs it: .ci/install-system-packages.sh)")


@pytest.mark.slow
@pytest.mark.parametrize("bubblewrap", ["present", "hidden"])
@pytest.mark.parametrize("java", JDK_PARAMS)
def test_hostile_generations_fail_alone_and_leave_no_trace(java, bubblewrap, tmp_path, monkeypatch, sandbox_users, request):
    """With bubblewrap each hostile item fails at its own level; without it (and no opt-in
    to unshare) none of the model's code runs: compiling is still judged, the levels above
    are not measured, and nothing leaves a trace either."""
    if bubblewrap == "hidden":
        request.getfixturevalue("hidden_bubblewrap")
    else:
        require_bubblewrap()
    token = secrets.token_hex(6)
    canaries = [Path.cwd() / f"hostile-{token}", tmp_path / f"hostile-{token}", Path(f"/tmp/hostile-{token}"),
                Path.home() / f".hostile-{token}"]
    secret = f"SECRET-{token}"
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(secret)
    secret_file.chmod(0o644)
    monkeypatch.setenv("LMTUNE_TEST_SECRET", secret)
    cases = hostile_cases(canaries, secret_file)
    alone = check_methods([g for _, g in BYSTANDERS], [r for r, _ in BYSTANDERS], java, time_limit=2)
    # Bystanders first, between and after the hostile ones.
    generated = [BYSTANDERS[0][1], *cases.values(), *(g for _, g in BYSTANDERS)]
    references = [BYSTANDERS[0][0], *[ADD] * len(cases), *(r for r, _ in BYSTANDERS)]
    verdicts = check_methods(generated, references, java, time_limit=2)
    hostile = dict(zip(cases, verdicts[1:]))
    try:
        assert not [name for name, verdict in hostile.items() if verdict.functional], hostile
        assert [verdicts[0], *verdicts[1 + len(cases):]] == [alone[0], *alone]
        assert not [path for path in canaries if path.exists()]
        assert not leftover_processes(sandbox_users)
        for verdict in verdicts:
            assert secret not in verdict.detail and "root:" not in verdict.detail
            assert len(verdict.detail) <= DETAIL_CHARS
    finally:
        for path in canaries:
            path.unlink(missing_ok=True)
    reasons = {name: verdict.reason for name, verdict in hostile.items()}
    if bubblewrap == "hidden":
        for name, verdict in zip(["bystander", *cases, *["bystander"] * len(BYSTANDERS)], verdicts):
            if verdict.compiles:
                assert (verdict.signature, verdict.functional, verdict.reason) == (None, None, "not_measured"), name
            else:
                assert verdict.compiles is False and verdict.reason in ("syntax_error", "foreign_class"), name
        assert reasons["closes the wrapper to define the probe"] == "foreign_class"
        assert reasons["loops for ever"] == "not_measured"
        return
    # The sandbox's own reasons where they are certain.
    assert reasons["forges result lines on the real standard output"] == "harness_error"
    assert reasons["closes the wrapper to define the probe"] == "foreign_class"
    assert reasons["closes the wrapper through unicode escapes"] == "foreign_class"
    assert hostile["closes the wrapper through unicode escapes"].compiles is False
    assert reasons["writes gigabytes to the real standard output"] == "harness_error"
    assert reasons["loops for ever"] == reasons["prints without end"] == "timeout"
    assert reasons["fills the heap"] == reasons["fills direct memory"] == "out_of_memory"
    assert reasons["exits the JVM"] == reasons["halts the JVM"] == "crashed"
    assert reasons["reads the environment"] == "exception" and "env {LC_ALL=C.UTF-8}" in hostile["reads the environment"].detail
    # Run as root, the run's process limit stops the reaper thread of the processes.
    assert reasons["starts processes through ProcessBuilder"] in ("wrong_output", "out_of_memory")
    for name in ("runs a shell through exec", "writes files outside its folder",
                 "reads a secret file", "reads a system file", "connects to the network", "leaves a runaway thread",
                 "calls the reference by reflection"):
        assert reasons[name] == "wrong_output", (name, hostile[name])


@pytest.mark.parametrize("java", JDK_PARAMS)
def test_the_sandbox_shows_the_code_nothing_of_the_machine(java):
    box = sandbox.find_sandbox()
    if box is None or not box.isolates_files:
        pytest.skip("bubblewrap cannot start here")
    command = [java, "-Xmx64m", "-XX:+UseSerialGC", "-XX:CompressedClassSpaceSize=64m", "-version"]
    from lmtune.java.javac import jdk_paths

    with box.start(command, read_only=jdk_paths(java), limits=sandbox.Limits(wall_s=60), keep_errors=True) as run:
        assert list(run.lines()) == [] and run.returncode() == 0, run.error_tail()
    listing = "ls -a / /work; ls /etc 2>&1; cat /proc/self/status | grep -i '^Uid'; env; ip link 2>&1 || true"
    with box.start(["/bin/sh", "-c", listing], limits=sandbox.Limits(wall_s=20)) as run:
        lines = list(run.lines())
    assert "ls: cannot access '/etc': No such file or directory" in lines
    assert not [line for line in lines if line.startswith("LMTUNE") or line.startswith("HOME=")]
    assert os.getcwd() not in "\n".join(lines)


def test_without_bubblewrap_the_namespaces_still_hold(sandbox_users):
    """The fallback, `unshare`: no network, a process namespace, an empty environment."""
    unshare, prlimit = shutil.which("unshare"), shutil.which("prlimit")
    if not (unshare and prlimit) or subprocess.run([unshare, "-rn", "true"], check=False).returncode:
        pytest.skip("unshare cannot make namespaces here")
    box = sandbox.Sandbox("unshare", unshare, prlimit)
    script = "env; echo pid $$; tail -n +3 /proc/net/dev | cut -d: -f1; sleep 100 & echo started"
    with box.start(["/bin/sh", "-c", script], limits=sandbox.Limits(wall_s=20)) as run:
        lines = list(run.lines())
    environment, rest = lines[: lines.index("pid 1")], lines[lines.index("pid 1") + 1:]
    assert {line.split("=", 1)[0] for line in environment} <= {"LC_ALL", "PWD"}  # PWD: set by the shell
    assert [line.strip() for line in rest] == ["lo", "started"]
    assert not leftover_processes(sandbox_users)


FORGER = (
    "var out = new java.io.PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true);\n"
    'for (int i = 0; i < 400; i++) out.println(i + "\\t1\\tok\\t1 inputs");\n'
)


@pytest.mark.slow
def test_a_forged_generation_in_a_finished_run_changes_only_its_own_verdict(tiny_run, tmp_path):
    """Through the real rule: one base-model generation that writes verdict lines of its
    own (as it would have under the old harness) fails, and every other item of every
    model is judged as before."""
    from conftest import clone_run, run_snakemake
    from lmtune.core.jsonl import read_jsonl, write_jsonl

    require_bubblewrap()

    workdir = clone_run(tiny_run, tmp_path / "run")
    generations = workdir / "results/java/generations/base.jsonl"
    records = read_jsonl(generations)
    # The reference itself, right in every answer, but for the lines it forges.
    records[0]["generated"] = records[0]["reference"].replace("{", "{\n" + FORGER, 1)
    generations.unlink()  # the clone's files are links to the finished run's
    write_jsonl(generations, records)
    run_snakemake(workdir, "results/java/metrics.json")

    def verdicts(run: Path) -> dict:
        return {path.name: [(r["compiles"], r["signature"], r["functional"], r["reason"]) for r in read_jsonl(path)]
                for path in sorted((run / "results/java/scored").glob("*.jsonl"))}

    before, after = verdicts(tiny_run), verdicts(workdir)
    assert after["base.jsonl"][0] == (True, True, False, "harness_error")
    assert after["base.jsonl"][1:] == before["base.jsonl"][1:]
    assert {k: v for k, v in after.items() if k != "base.jsonl"} == {k: v for k, v in before.items() if k != "base.jsonl"}


@pytest.fixture
def ordinary_user(tmp_path) -> tuple[int, int, Path]:
    """(uid, gid, home) of a user who is not root, as on a laptop or a login node: this
    process's own where it is not root, else a throwaway user made for this test."""
    if os.geteuid() != 0:
        yield os.getuid(), os.getgid(), Path.home()
        return
    if not shutil.which("useradd"):
        pytest.skip("run as root without useradd: no ordinary user to run as")
    name = f"lmtune-{secrets.token_hex(4)}"
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True, capture_output=True)
    try:
        record = subprocess.run(["getent", "passwd", name], check=True, capture_output=True, text=True).stdout
        uid, gid, home = record.split(":")[2], record.split(":")[3], record.split(":")[5]
        yield int(uid), int(gid), Path(home)
    finally:
        subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)


# Run as the ordinary user: the three generations of issue 39 through check_methods.
AS_USER = """
import json, sys
from lmtune.java.checks import check_methods
generated, allow = json.loads(sys.argv[1]), sys.argv[2] == "allow"
verdicts = check_methods(generated, [sys.argv[3]] * len(generated), sys.argv[4], time_limit=2,
                         allow_without_filesystem_isolation=allow)
print(json.dumps([v.to_dict() for v in verdicts]))
"""


def runs(python: str, as_user: dict) -> bool:
    try:
        return subprocess.run([python, "-c", "import lmtune.java.checks"], **as_user).returncode == 0
    except OSError:  # the user may not reach it
        return False


@pytest.mark.slow
@pytest.mark.parametrize("setting", ["bubblewrap", "no bubblewrap", "no bubblewrap, unshare allowed"])
def test_as_an_ordinary_user_model_code_touches_no_file_of_the_user(setting, ordinary_user, tmp_path):
    """Issue 39's three escapes, as a user who is not root: write into the home folder,
    write into the project checkout, read a private file. Under bubblewrap they fail;
    without it the code does not run at all, unless the user opts in to unshare, which
    gives up exactly that (the opt-in's name says so, and this shows it)."""
    if setting == "bubblewrap":
        require_bubblewrap()
    uid, gid, home = ordinary_user
    token = secrets.token_hex(6)
    checkout = home / f"checkout-{token}"
    checkout.mkdir()
    home_canary, checkout_canary = home / f".hostile-{token}", checkout / f"hostile-{token}"
    secret, secret_file = f"SECRET-{token}", home / f"private-{token}.txt"
    secret_file.write_text(secret)
    secret_file.chmod(0o600)
    for path in (checkout, secret_file):
        os.chown(path, uid, gid)

    def writes(path: Path) -> str:
        return body(f'try (var w = new java.io.FileWriter("{path}")) {{ w.write("x"); return a + b; }}',
                    "catch (java.io.IOException e) { return a - b; }")

    reads = body(f'try {{ throw new RuntimeException(java.nio.file.Files.readString(java.nio.file.Path.of("{secret_file}"))); }}',
                 "catch (java.io.IOException e) { return a - b; }")
    java = find_jdk()
    if java is None:
        pytest.skip("no JDK on this machine")
    links = Path(tempfile.mkdtemp(prefix="lmtune-bin-"))  # /tmp: where the user can reach it
    path = os.environ["PATH"] if setting == "bubblewrap" else path_without_bubblewrap(links)
    as_user = {"cwd": checkout, "user": uid, "group": gid, "extra_groups": [], "capture_output": True, "text": True,
               "env": {"PATH": path, "HOME": str(home), "PYTHONPATH": str(Path(sandbox.__file__).parents[2])}}
    try:
        # The checks need only the standard library: any Python the user can run will do
        # (this one may lie in root's home).
        python = next((candidate for candidate in (sys.executable, "/usr/bin/python3") if runs(candidate, as_user)), None)
        if python is None:
            pytest.skip("no Python that the ordinary user can run and import lmtune with")
        result = subprocess.run(
            [python, "-c", AS_USER, json.dumps([writes(home_canary), writes(checkout_canary), reads]),
             "allow" if setting.endswith("allowed") else "refuse", ADD, java],
            timeout=300, **as_user,
        )
        written = [p for p in (home_canary, checkout_canary) if p.exists()]
    finally:
        shutil.rmtree(links)
        shutil.rmtree(checkout)
        home_canary.unlink(missing_ok=True)
        secret_file.unlink()
    assert result.returncode == 0, result.stderr
    verdicts = json.loads(result.stdout)
    leaked = secret in result.stdout
    if setting == "bubblewrap":
        assert [v["reason"] for v in verdicts] == ["wrong_output"] * 3, verdicts
        assert not written and not leaked
    elif setting == "no bubblewrap":
        assert [(v["compiles"], v["signature"], v["functional"], v["reason"]) for v in verdicts] == [
            (True, None, None, "not_measured")] * 3
        assert not written and not leaked
    else:
        if not sandbox.find_sandbox():
            pytest.skip("unshare cannot make namespaces here")
        assert written == [home_canary, checkout_canary] and leaked, verdicts


@pytest.mark.slow
def test_without_bubblewrap_the_workflow_runs_no_model_code(tiny_run, tmp_path, hidden_bubblewrap):
    """The real score_java rule on a machine without bubblewrap: compiling is judged, the
    levels that run the model's code are not measured, one log line says how to measure
    them, and a generation that would write into the checkout writes nothing; the opt-in
    is part of the job's identity."""
    from conftest import clone_run, planned_jobs, run_snakemake, write_config
    from lmtune.core.jsonl import read_jsonl, write_jsonl
    from lmtune.java.checks import OPT_IN

    workdir = clone_run(tiny_run, tmp_path / "run")
    canary = workdir / f"hostile-{secrets.token_hex(6)}"
    generations = workdir / "results/java/generations/base.jsonl"
    records = read_jsonl(generations)  # the tiny models' own generations do not compile
    records[0]["generated"] = records[0]["reference"]
    write = f'try (var w = new java.io.FileWriter("{canary}")) {{ w.write("x"); }} catch (java.io.IOException e) {{}}\n'
    records[1]["generated"] = records[1]["reference"].replace("{", "{\n" + write, 1)
    generations.unlink()  # the clone's files are links to the finished run's
    write_jsonl(generations, records)
    run_snakemake(workdir, "results/java/metrics.json")
    log = (workdir / "results/logs/score_java.log").read_text()
    assert log.count("bubblewrap (bwrap) cannot run here") == 1 and OPT_IN in log
    scored = read_jsonl(workdir / "results/java/scored/base.jsonl")
    assert [(r["compiles"], r["signature"], r["functional"], r["reason"]) for r in scored[:2]] == [
        (True, None, None, "not_measured")] * 2
    assert not canary.exists()
    records = [r for path in (workdir / "results/java/scored").glob("*.jsonl") for r in read_jsonl(path)]
    assert {(r["signature"], r["functional"], r["reason"]) for r in records if r["compiles"]} == {(None, None, "not_measured")}
    figures = json.loads((workdir / "results/java/metrics.json").read_text())["generation"]["base"][scored[0]["split"]]
    assert figures["syntax_rate"] > 0 and figures["signature_rate"] is None and figures["functional_accuracy"] is None
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["java"]["sandbox"] = {"allow_without_filesystem_isolation": True}
    write_config(workdir, config)
    assert planned_jobs(run_snakemake(workdir, "-n", "results/java/metrics.json").stdout) == {"score_java": 1}


def test_the_compiler_runs_under_limits_alone_where_no_namespaces_can_start():
    """javac with annotation processing off runs no code of the model's: where neither
    bwrap nor unshare can start, compiling is still measured, under limits."""
    from lmtune.java.javac import compile_files
    from lmtune.java.tasks import wrap_in_class

    java, prlimit = find_jdk(), shutil.which("prlimit")
    if java is None or prlimit is None:
        pytest.skip("no JDK or no prlimit on this machine")
    work = Path(tempfile.mkdtemp(prefix="lmtune-javac-limits-"))  # a run's own user reads it
    try:
        work.chmod(0o755)
        files = []
        for index, code in enumerate([ADD, "public int addFoo(int a, int b) { return a + ; }"]):
            files.append(work / f"Generated{index}.java")
            files[-1].write_text(wrap_in_class(code, f"Generated{index}"))
            files[-1].chmod(0o644)
        (work / "classes").mkdir()
        results = compile_files(files, work / "classes", java, sandbox.Sandbox("limits", "", prlimit))
    finally:
        shutil.rmtree(work)
    assert [(r.compiled, r.reason) for r in results] == [(True, "ok"), (False, "syntax_error")]
