"""Every command the README, config/README.md and the documentation's pages (docs/) show in
their ```bash blocks runs, in a stand-in for a user's clone of this repository (its files
linked, the tiny models under .test/models):

- each `snakemake` line as a dry run (`-n`) on the tiny setting (`--configfile=.test/config.yaml`
  where the line names no config file of its own); `--report` on a finished tiny run;
- each `python` line with the smallest arguments it takes (PYTHON_ARGUMENTS);
- each `lmtune` line on a finished tiny run;
- every other line is listed in NOT_RUN with the reason it is not run here.

A command the documents gain that is none of these fails the first test, and so does an
entry here whose command they no longer show."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, clone_run, planned_jobs, snakemake_env, tiny_models

# What a user reads: the front page, how to configure, the documentation site's pages.
DOCUMENTS = [REPO / "README.md", REPO / "config" / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
SNAKEMAKE = {"snakemake", ".venv/bin/snakemake"}
LMTUNE = {"lmtune", ".venv/bin/lmtune"}
TINY_SETTING = "--configfile=.test/config.yaml"

# command (as shlex.join writes it) -> why this test does not run it
NOT_RUN = {
    "make run": "sets up .venv and runs the whole default workflow (minutes to hours); "
                "its snakemake line, `.venv/bin/snakemake --cores all`, is planned here",
    "make test": "runs the whole suite, this test among them",
    ".venv/bin/pytest -m 'not slow'": "runs the suite's inner loop, this test among them",
    ".venv/bin/pytest tests/test_workflow.py": "runs one file of the suite, which the suite runs",
    ".venv/bin/lmtune compare results results/forgetting": "needs two finished runs; tests/test_study.py runs "
        "`lmtune compare` on three results folders",
    "make gpu-check-assets": "downloads the GPU machine's packages from a registry (tens of MiB); "
                             "tests/test_benchmarks.py runs gpu_check.py's preparation in its smoke mode",
    "bash benchmarks/gpu_check.sh": "a GPU machine; tests/test_seed_scale.py runs the script in its CPU mode",
    ".venv/bin/snakemake --profile profiles/gpu": "a GPU (the profile sets compute.device: cuda); "
        "benchmarks/gpu_check.sh runs the workflow under it on a GPU machine",
    "export LMTUNE_SLURM_PARTITION=gpu LMTUNE_SLURM_ACCOUNT=myproject": "sets the environment of the next line",
    ".venv/bin/snakemake --profile profiles/slurm": "a SLURM cluster: tests/test_slurm.py runs the workflow "
        "through this profile on a real one-machine cluster",
    "tensorboard --logdir results/tensorboard": "serves a run's curves until stopped; tests/test_study_workflow.py "
        "checks the event files a `tracking: tensorboard` run writes",
    ".venv/bin/python benchmarks/record.py sweep_expansion.py --repeats 5": "writes a result file into the "
        "repository's docs/benchmarks/; tests/test_benchmarks.py runs record.py into a temporary folder and "
        "tests/test_docs.py renders a record it makes",
    "make docs": "builds the documentation site; tests/test_docs.py builds it the same way (mkdocs build --strict)",
    ".venv/bin/mkdocs serve": "serves the site until stopped; tests/test_docs.py builds the same site and "
        "opens it in a browser",
    ".venv/bin/snakemake --cores all --configfile=config/seed-scale.yaml":
        "hub models and a GPU: tests/test_config_errors.py plans this config offline, its models "
        "in place and the device the CPU",
}
# python command -> (the smallest arguments it runs with here, a line of its normal output)
PYTHON_ARGUMENTS = {
    # Into a folder of the stand-in clone: .test/models there is the suite's shared build.
    ".venv/bin/python .test/make_tiny_models.py": (["models"], r"^tiny-gpt2: models/tiny-gpt2$"),
}


def documented_commands() -> dict[str, list[str]]:
    """command -> its words, for every command line of the documents' ```bash blocks
    (comments dropped)."""
    blocks = [block for document in DOCUMENTS
              for block in re.findall(r"^```bash\n(.*?)^```$", document.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)]
    lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    commands = [shlex.split(line, comments=True) for line in lines]
    return {shlex.join(words): words for words in commands if words}


COMMANDS = documented_commands()
SNAKEMAKE_COMMANDS = [command for command, words in COMMANDS.items() if words[0] in SNAKEMAKE and command not in NOT_RUN]
# A report collects a run's results: it is made from a finished run, not planned.
PLANNED = [command for command in SNAKEMAKE_COMMANDS if "--report" not in COMMANDS[command]]
REPORTS = [command for command in SNAKEMAKE_COMMANDS if "--report" in COMMANDS[command]]

# What a clone holds besides the repository's files: local state, never linked.
LOCAL_STATE = {".git", ".venv", ".snakemake", "results", ".pytest_cache", "report.html"}


def user_checkout(folder: Path, run: Path | None = None) -> Path:
    """`folder` as a user's clone of this repository: its files (linked), the tiny models
    under .test/models, and a finished `run`'s results and Snakemake state where given.
    What the commands write stays in `folder`."""
    if run is None:
        folder.mkdir()
    else:
        clone_run(run, folder)
        (folder / "config.yaml").unlink()  # the run's own copy of the tiny setting: the clone has the repository's
    for entry in REPO.iterdir():
        if entry.name not in LOCAL_STATE | {".test"}:
            (folder / entry.name).symlink_to(entry)
    (folder / ".test").mkdir()
    for entry in (REPO / ".test").iterdir():
        if entry.name != "models":
            (folder / ".test" / entry.name).symlink_to(entry)
    (folder / ".test/models").symlink_to(tiny_models()["tiny-llama"].parent)
    return folder


def run_in(checkout: Path, command: list[str]) -> subprocess.CompletedProcess:
    """`command` in the clone, with this environment's Python and Snakemake."""
    result = subprocess.run(command, cwd=checkout, capture_output=True, text=True, timeout=600,
                            env={**snakemake_env(), "PYTHONPATH": str(checkout / "src")})
    assert result.returncode == 0, f"{shlex.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def snakemake_on_the_tiny_setting(words: list[str]) -> list[str]:
    """A documented snakemake line as this test runs it: this environment's Snakemake, on the
    tiny setting where the line names no config file."""
    arguments = words[1:]
    if not any(argument.startswith("--configfile") for argument in arguments):
        arguments.append(TINY_SETTING)
    return [sys.executable, "-m", "snakemake", *arguments]


def test_every_readme_command_is_run_or_listed_with_a_reason():
    unknown = [command for command, words in COMMANDS.items()
               if command not in NOT_RUN and command not in PYTHON_ARGUMENTS and words[0] not in SNAKEMAKE | LMTUNE]
    assert not unknown, f"documented commands this test neither runs nor lists in NOT_RUN with a reason: {unknown}"
    gone = (NOT_RUN.keys() | PYTHON_ARGUMENTS.keys()) - COMMANDS.keys()
    assert not gone, f"listed here, no longer in the documents: {sorted(gone)}"
    assert PLANNED and REPORTS  # the parser still finds the blocks


@pytest.mark.parametrize("command", PLANNED)
def test_a_readme_snakemake_command_plans_the_tiny_setting(command, tmp_path):
    result = run_in(user_checkout(tmp_path / "clone"), [*snakemake_on_the_tiny_setting(COMMANDS[command]), "-n"])
    assert sum(planned_jobs(result.stdout + result.stderr).values()) > 0


@pytest.mark.slow
@pytest.mark.parametrize("command", REPORTS)
def test_a_readme_report_command_reports_a_finished_run(command, tiny_run, tmp_path):
    """As a user runs it after the workflow: no --cores (it runs no job)."""
    words = COMMANDS[command]
    checkout = user_checkout(tmp_path / "clone", run=tiny_run)
    run_in(checkout, snakemake_on_the_tiny_setting(words))
    report = checkout / words[words.index("--report") + 1]
    assert "<html" in report.read_text(encoding="utf-8")[:1000].lower()


@pytest.mark.parametrize("command", list(PYTHON_ARGUMENTS))
def test_a_readme_python_command_runs(command, tmp_path):
    arguments, result_line = PYTHON_ARGUMENTS[command]
    result = run_in(user_checkout(tmp_path / "clone"), [sys.executable, *COMMANDS[command][1:], *arguments])
    assert re.search(result_line, result.stdout, re.MULTILINE), result.stdout


LMTUNE_COMMANDS = [command for command, words in COMMANDS.items() if words[0] in LMTUNE and command not in NOT_RUN]


@pytest.mark.slow
@pytest.mark.parametrize("command", LMTUNE_COMMANDS)
def test_a_readme_lmtune_command_runs_on_a_finished_run(command, tiny_run, tmp_path):
    """`lmtune ...` as a user runs it in the clone after the workflow (`python -m lmtune`:
    the command this environment installs)."""
    checkout = user_checkout(tmp_path / "clone", run=tiny_run)
    result = run_in(checkout, [sys.executable, "-m", "lmtune", *COMMANDS[command][1:]])
    assert result.stdout.startswith("| "), result.stdout  # a Markdown table


@pytest.mark.parametrize("command", ["--unlock", "--summary", "--list-rules"])
def test_a_command_that_runs_no_job_needs_no_core_count(command, tmp_path):
    """Snakemake takes no --cores for these; the rules must load without one."""
    run_in(user_checkout(tmp_path / "clone"), [sys.executable, "-m", "snakemake", command, TINY_SETTING])
