"""Shared fixtures: the tiny setting (`.test/config.yaml`) on tiny random models with real
tokenizers, built once per test session, and helpers to run the real workflow."""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from filelock import FileLock

from lmtune.core.process import tune_garbage_collector

# The test workers (pytest-xdist starts them with this environment) hash as the workflow
# runs do, so that a run can be a fork of a worker (forked_snakemake).
os.environ.setdefault("PYTHONHASHSEED", "0")
_START_ENVIRONMENT = dict(os.environ)

# A test process imports torch, transformers and peft as a job does: the same collector
# settings make its start and end as much cheaper.
tune_garbage_collector()
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two test processes share the cores with the workflow runs: one torch thread each, as
    # a job gets (a second thread would spin-wait for a core another process is using).
    import torch

    torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO / "resources" / "corpora"
TINY_CONFIG = REPO / ".test" / "config.yaml"


def _tiny_model_builder():
    """`.test/make_tiny_models.py`, the script a user runs before the tiny setting."""
    spec = importlib.util.spec_from_file_location("make_tiny_models", REPO / ".test" / "make_tiny_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_once(folder: Path, build, remember_failure: bool = False) -> Path:
    """`build(folder)` unless a finished build is there: once, also across concurrent
    test runs and test workers (a file lock), and never taken as built when a build was
    cut short (its marker is written last). With `remember_failure`, a failed build is
    not tried again by whoever waited on it: they fail with its error at once."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    failure = folder.parent / f"{folder.name}.failed"
    with FileLock(f"{folder}.lock"):
        if failure.exists():
            pytest.fail(f"building {folder.name} failed in another test worker:\n{failure.read_text()}", pytrace=False)
        if not (folder / ".built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            try:
                build(folder)
            except BaseException as error:
                if remember_failure:
                    failure.write_text(f"{type(error).__name__}: {error}")
                raise
            (folder / ".built").touch()
    return folder


def shared_run_folder(tmp_path_factory) -> Path:
    """A folder of this test run that all its workers share (pytest-xdist gives each
    worker a temporary folder of its own, inside the run's)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def once_per_test_run(tmp_path_factory, name: str, build) -> Path:
    """`build(folder)` for the folder `name` of this test run, by whichever worker asks
    first; the others wait for it and share it."""
    return build_once(shared_run_folder(tmp_path_factory) / name, build, remember_failure=True)


@functools.cache
def tiny_models() -> dict[str, Path]:
    """name -> folder of each tiny model (about 10 s to build). Kept in the temporary
    folder under a key of what makes them (the builder and the torch and transformers
    versions), so test runs share them and a change of any of those builds them anew."""
    import torch
    import transformers

    builder = REPO / ".test" / "make_tiny_models.py"
    key = hashlib.sha256(builder.read_bytes() + f"{torch.__version__} {transformers.__version__}".encode()).hexdigest()
    folder = Path(tempfile.gettempdir()) / f"lmtune-tiny-models-{key[:16]}"
    return {name: build_once(folder / name, build) for name, build in _tiny_model_builder().BUILDERS.items()}


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """The tiny Llama: SmolLM2's layout and real tokenizer, random weights."""
    return tiny_models()["tiny-llama"]


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_dir):
    from lmtune.core.models import load_tokenizer

    return load_tokenizer(tiny_model_dir)


def snakemake_command(workdir: Path, *args: str, snakefile: Path = REPO / "Snakefile") -> list[str]:
    """The real workflow (this checkout's, or `snakefile`) on `workdir` (which holds its
    config.yaml), on 2 cores."""
    return [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile),
            "--directory", str(workdir), "--cores", "2", *args]


def snakemake_env() -> dict:
    """The environment as it is now (tests set variables), hash randomisation off so that
    two runs can be compared byte for byte."""
    return {**os.environ, "PYTHONHASHSEED": "0"}


def run_snakemake(workdir: Path, *args: str, check: bool = True, snakefile: Path = REPO / "Snakefile") -> subprocess.CompletedProcess:
    """Run the real workflow on `workdir` (which holds its config.yaml). This checkout's
    workflow runs in a fork of this test process where it can (forked_snakemake)."""
    command = snakemake_command(workdir, *args, snakefile=snakefile)
    if snakefile == REPO / "Snakefile" and can_fork_snakemake(snakemake_env()):
        result = forked_snakemake(command[3:], snakemake_env())
    else:
        result = subprocess.run(command, capture_output=True, text=True, env=snakemake_env())
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def can_fork_snakemake(env: dict) -> bool:
    """A fork of this process is the Snakemake a fresh one would be where this process
    hashes as Snakemake's runs here do (PYTHONHASHSEED=0: the test workers, see the top)
    and the run's environment is the one this process started with: libraries read some
    variables once, when imported (huggingface_hub's HF_HUB_OFFLINE). A test that sets
    variables, or runs another checkout's workflow, starts Snakemake anew."""
    def relevant(environment):
        return {name: value for name, value in environment.items() if name != "PYTEST_CURRENT_TEST"}

    return (hasattr(os, "fork") and not sys.flags.hash_randomization
            and relevant(env) == relevant({**_START_ENVIRONMENT, "PYTHONHASHSEED": "0"}))


# What Snakemake and this workflow import when they start, imported once in this process
# (the first run lists it) rather than in every run.
_SNAKEMAKE_MODULES: list[str] = []


def forked_snakemake(arguments: list[str], env: dict) -> subprocess.CompletedProcess:
    """`python -m snakemake *arguments` with `env`, run in a fork of this process: the
    same command line, but Snakemake, the workflow's planning code and their libraries
    are imported already (a second or more of CPU a run, a tenth of the suite's). Its
    CPU counts for this process's children, as a subprocess's does."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as imported:
        sys.stdout.flush(), sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the test process
            code = 1
            try:
                for number in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(number, signal.SIG_DFL)
                os.dup2(out.fileno(), 1), os.dup2(err.fileno(), 2)
                sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
                sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
                os.environ.clear()
                os.environ.update(env)
                sys.argv = ["snakemake", *arguments]
                before = set(sys.modules)
                from snakemake.cli import main

                try:
                    main(arguments)
                finally:
                    if not _SNAKEMAKE_MODULES:
                        Path(imported.name).write_text("\n".join(sorted(set(sys.modules) - before)))
            except SystemExit as exit:
                code = exit.code if isinstance(exit.code, int) else 1
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush(), sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        if not _SNAKEMAKE_MODULES:
            _SNAKEMAKE_MODULES.extend(imported.read().split() or ["snakemake.cli"])
            for name in _SNAKEMAKE_MODULES:
                with contextlib.suppress(Exception):
                    importlib.import_module(name)
        out.seek(0), err.seek(0)
        return subprocess.CompletedProcess(["python", "-m", "snakemake", *arguments], os.waitstatus_to_exitcode(status),
                                           out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def _absolute(path: str) -> str:
    return str(REPO / path)


@functools.cache
def _tiny_config() -> dict:
    config = yaml.safe_load(TINY_CONFIG.read_text())
    # .test/config.yaml names its files relative to the repository root; a test's run
    # works in a folder of its own, so they become absolute here.
    models = {f".test/models/{name}": str(folder) for name, folder in tiny_models().items()}
    for section in [config, *(config[name] for name in ("continual", "arithmetic", "java", "instruct"))]:
        if "base_model" in section:
            section["base_model"]["source"] = models[section["base_model"]["source"]]
    for domain in config["continual"]["domains"].values():
        domain["corpus"] = _absolute(domain["corpus"])
    config["java"]["corpus"]["sources"] = [_absolute(s) for s in config["java"]["corpus"]["sources"]]
    data = config["instruct"]["data"]
    data.update({part: _absolute(data[part]) for part in ("train", "validation") if part in data})
    return config


def tiny_config() -> dict:
    """`.test/config.yaml` with absolute paths: every experiment at toy scale on the
    tiny models. A fresh copy each call, for the caller to change."""
    return copy.deepcopy(_tiny_config())


def write_config(workdir: Path, config: dict) -> None:
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The tiny configuration, run once per test run (shared by its workers). Tests read
    it and never change it: a test that changes a run works on `clone_run(tiny_run, ...)`."""

    def run(workdir: Path) -> None:
        write_config(workdir, tiny_config())
        run_snakemake(workdir)

    return once_per_test_run(tmp_path_factory, "tiny-run", run)


# The first phase of the sequential strategy's seed 0, which the tiny setting trains for
# two steps with a checkpoint after each.
PHASE_A = "results/continual/sequential/seed0/A"
PHASE_A_CHECKPOINTS = "results/continual/checkpoints/sequential/seed0/A"


def wait_for_checkpoint(process: subprocess.Popen, state: Path, step: int, timeout: float = 1200) -> None:
    """Until `state` (trainer_state.json, the last file transformers writes into a
    checkpoint) is complete: it parses and holds the checkpoint's step."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"snakemake ended ({process.returncode}) before checkpoint {step} was written")
        try:
            if json.loads(state.read_text())["global_step"] == step:
                return
        except (OSError, ValueError, KeyError):
            pass  # not there yet, or half written
        time.sleep(0.01)
    pytest.fail(f"no complete checkpoint {step} after {timeout} s")


def kill_at_first_checkpoint(workdir: Path, checkpoints: str, *targets: str) -> None:
    """Run the workflow on `workdir` and kill it with SIGKILL, all of it, once the
    training whose checkpoints go to `checkpoints` has written its first complete one."""
    with open(workdir.parent / f"{workdir.name}-interrupted.log", "w") as log:
        run = subprocess.Popen(snakemake_command(workdir, *targets), stdout=log, stderr=subprocess.STDOUT,
                               env=snakemake_env(), start_new_session=True)
        try:
            wait_for_checkpoint(run, workdir / checkpoints / "checkpoint-1" / "trainer_state.json", step=1)
            os.killpg(run.pid, signal.SIGSTOP)  # freeze it where it is, then kill it all
        finally:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()


# Every experiment's metrics (the continual summary: every strategy and seed's), and all
# that they are computed from; not the cross-experiment matrix, the interpolation curves,
# the plots and the run record, which the tiny run alone makes.
METRICS_TARGETS = [f"results/{name}" for name in (
    "continual/summary.json", "arithmetic/metrics.json", "java/metrics.json", "instruct/metrics.json",
)]


@pytest.fixture(scope="session")
def resumed_run(tmp_path_factory) -> tuple[Path, dict]:
    """A second run of the tiny setting's metrics (METRICS_TARGETS), from nothing in
    another folder, killed with SIGKILL (all of it) once phase A of the sequential
    strategy's seed 0 has written its first checkpoint, then run again to the end. The
    folder, and what the kill left."""

    def run(workdir: Path) -> None:
        write_config(workdir, tiny_config())
        kill_at_first_checkpoint(workdir, PHASE_A_CHECKPOINTS, *METRICS_TARGETS)
        left = {
            "phase_a_outputs": [name for name in ("model", "train_loss.csv") if (workdir / PHASE_A / name).exists()],
            "checkpoints": sorted(p.name for p in (workdir / PHASE_A_CHECKPOINTS).glob("checkpoint-*")),
        }
        (workdir.parent / f"{workdir.name}-left.json").write_text(json.dumps(left))
        # A killed Snakemake leaves its lock behind (its error message says to --unlock); the
        # jobs it killed are rerun, their outputs never half-written (atomic writes).
        run_snakemake(workdir, "--unlock")
        run_snakemake(workdir, *METRICS_TARGETS)

    workdir = once_per_test_run(tmp_path_factory, "resumed-run", run)
    return workdir, json.loads((workdir.parent / f"{workdir.name}-left.json").read_text())


@pytest.fixture(scope="session")
def nan_model_run(tmp_path_factory, tiny_model_dir) -> tuple[Path, subprocess.CompletedProcess]:
    """A workflow run whose phase A fails: the base model's weights are NaN. Its folder
    and Snakemake's result, for the tests of what a failed job leaves and prints."""
    from safetensors.torch import load_file, save_file

    def run(workdir: Path) -> None:
        broken = shutil.copytree(tiny_model_dir, workdir / "nan-model")
        weights = load_file(broken / "model.safetensors")
        weights["model.norm.weight"][:] = float("nan")
        save_file(weights, broken / "model.safetensors", metadata={"format": "pt"})
        config = tiny_config()
        del config["arithmetic"], config["java"], config["instruct"]
        config["base_model"] = {"source": str(broken)}
        write_config(workdir, config)
        result = run_snakemake(workdir, "results/continual/sequential/seed0/A/model", check=False)
        outcome = {"args": result.args, "returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr}
        (workdir.parent / f"{workdir.name}-result.json").write_text(json.dumps(outcome))

    workdir = once_per_test_run(tmp_path_factory, "nan-model-run", run)
    outcome = json.loads((workdir.parent / f"{workdir.name}-result.json").read_text())
    return workdir, subprocess.CompletedProcess(**outcome)


def _link_or_copy(source: str, target: str) -> None:
    # Models and tokens (large) are only ever replaced by atomic renames, so a hard link is
    # safe; small files (Snakemake's metadata, logs, benchmarks) may be rewritten in place,
    # which through a hard link would change the source run too.
    if os.path.getsize(source) > 1_000_000:
        os.link(source, target)
    else:
        shutil.copy2(source, target)


def path_without_bubblewrap(folder: Path) -> str:
    """A PATH that finds every program of this one but bwrap: `folder` gets a link to each
    (the first of each name), as a machine without bubblewrap would have. Sandboxed runs
    and other users start programs through it: it must be reachable by anyone."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            link = folder / entry.name
            if entry.name != "bwrap" and not link.exists() and not link.is_symlink():
                link.symlink_to(entry.path)
    return str(folder)


@pytest.fixture
def hidden_bubblewrap(monkeypatch) -> str:
    """This process and what it starts find no bwrap (the sandbox's choice is made again)."""
    from lmtune.core import sandbox

    folder = Path(tempfile.mkdtemp(prefix="lmtune-bin-without-bwrap-"))  # /tmp: anyone reaches it
    monkeypatch.setenv("PATH", path_without_bubblewrap(folder))
    sandbox.find_sandbox.cache_clear()
    yield str(folder)
    sandbox.find_sandbox.cache_clear()
    shutil.rmtree(folder)


def clone_run(source: Path, target: Path) -> Path:
    """A copy of a finished run, fast and with the same modification times and Snakemake
    metadata; changing the copy leaves the source as it was."""
    shutil.copytree(source, target, copy_function=_link_or_copy, symlinks=True)
    return target


def planned_jobs(dry_run_output: str) -> dict[str, int]:
    table = dry_run_output.split("Job stats:")[1].split("total")[0]
    return {name: int(count) for name, count in re.findall(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


# Fixtures that each worker would make for itself (a session fixture is one per worker, a
# module's fixture one per worker that runs a test of the module): the SLURM cluster and
# the runs that only some tests read. Every test of one goes to the same worker.
ONE_WORKER_FIXTURES = ("slurm_cluster", "seed_scale_run", "sampled_java_run", "new_strategies_run")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's hook, which reads the groups
def pytest_collection_modifyitems(items):
    """Under pytest-xdist (`--dist loadgroup`), every test of a fixture in
    ONE_WORKER_FIXTURES runs in one worker, so that the fixture is made once."""
    for item in items:
        needed = [name for name in ONE_WORKER_FIXTURES if name in getattr(item, "fixturenames", ())]
        if needed:
            item.add_marker(pytest.mark.xdist_group(needed[0]))


def pytest_collection_finish(session):
    """A group that pytest-xdist ignores spreads one SLURM cluster or shared run over both
    workers without a word (a new pytest did: pytest-dev/pytest-xdist#1386): stop instead."""
    if not session.config.getoption("loadgroup", default=False):
        return
    ignored = [item.nodeid for item in session.items if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if ignored:
        raise pytest.UsageError(f"pytest-xdist ignored the xdist_group of {len(ignored)} tests (first: {ignored[0]}); "
                                "install the pytest that pyproject.toml pins")



# CPU seconds per test, the suite's own measure (machines here differ 2x in speed, so wall
# time alone says little): each phase's CPU of the test process and of the processes it
# waited for (workflow runs and their jobs), carried to the controlling process in the
# reports. A session fixture's run counts for the test that first needs it.
CPU_SUMMARY_LINES = int(os.environ.get("LMTUNE_TEST_CPU_LINES", 25))  # more lines to find what to cut


def _cpu_seconds() -> float:
    import resource

    return sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))


def _counting_cpu(item):
    start = _cpu_seconds()
    try:
        return (yield)
    finally:
        item.user_properties.append(("cpu_s", _cpu_seconds() - start))


pytest_runtest_setup = pytest.hookimpl(wrapper=True)(_counting_cpu)
pytest_runtest_call = pytest.hookimpl(wrapper=True)(_counting_cpu)
pytest_runtest_teardown = pytest.hookimpl(wrapper=True)(_counting_cpu)


def pytest_terminal_summary(terminalreporter):
    """The tests that took the most CPU seconds, and the suite's total."""
    cpu = {
        report.nodeid: sum(value for name, value in report.user_properties if name == "cpu_s")
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "teardown"
    }
    if not cpu:
        return
    terminalreporter.write_sep("=", f"most CPU seconds: {CPU_SUMMARY_LINES} tests (their own and what they ran)")
    for nodeid, seconds in sorted(cpu.items(), key=lambda item: -item[1])[:CPU_SUMMARY_LINES]:
        terminalreporter.write_line(f"{seconds:8.1f} s  {nodeid}")
    terminalreporter.write_line(f"{sum(cpu.values()):8.1f} s  all {len(cpu)} tests")
