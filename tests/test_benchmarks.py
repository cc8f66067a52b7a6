"""Every script in benchmarks/ runs: each, as a user runs it, in its smoke mode on the tiny
setting (the tiny models, `.test/config.yaml`: a step or two, seconds), exits 0 and prints
its result lines. The figures mean nothing here; that the scripts still run against the
library as it is now is the point (a changed signature once broke throughput.py unseen)."""

import os
import re
import subprocess
import sys

import pytest

from conftest import REPO, tiny_config, write_config

BENCHMARKS = REPO / "benchmarks"
NUMBER = r"-?[\d.]+"

# script -> (its arguments in smoke mode, a line of its normal printout that holds a
# figure). "{name}" in an argument is the fixture of that name, set up only for the
# scripts that name it.
SMOKE_RUNS = {
    "data_scale.py": (
        ["--sizes", "0.02", "--threads", "1", "--model", "{tiny_model_dir}", "--workdir", "{tmp_path}", "--paths", "workflow", "bare"],
        # per path: wall time, peak memory, bytes per token, tokens/s, the ratio to the bare loop's
        rf"^  workflow\s+{NUMBER} s\s+{NUMBER} MiB\s+{NUMBER} B/token\s+[\d,]+ tokens/s  x{NUMBER} of bare",
    ),
    "generation.py": (
        ["--config", "{tiny_config_file}", "--prompts", "4"],
        # Its check: stopping at the end of the first method cuts nothing else.
        r"^stopped == unstopped cut after its first method: 4/4$",
    ),
    # Its preparation at tiny sizes (tokenizers, the three models, the overlay) and a dry
    # run; its CPU mode runs the workflow itself in tests/test_seed_scale.py.
    "gpu_check.py": (["smoke"], r"^seed-scale on tiny random models: \d+ jobs planned$"),
    "gpu_step.py": (
        ["--model", "{tiny_model_dir}", "--device", "cpu", "--precision", "fp32", "--shapes", "2x33",
         "--warmup", "1", "--steps", "1", "--rounds", "1", "--threads", "1"],
        rf"^\s+2x33\s+plain\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}%\s+{NUMBER}$",  # ... MFU, ratio
    ),
    "java_checks.py": (["--generations", "10", "--rounds", "1"], rf"^round 1: {NUMBER} s .*'ok': \d+"),
    "job_startup.py": (
        ["--model", "{tiny_model_dir}", "--rounds", "1", "--kinds", "training"],
        rf"^training lean / tuned: wall {NUMBER}, cpu {NUMBER}$",
    ),
    "lm_eval_cost.py": (
        ["--model", "{tiny_model_dir}", "--examples", "6", "--small", "2", "--rounds", "1", "--threads", "1"],
        rf"^cost_choice: {NUMBER} s per 100 examples \(wall\), {NUMBER} s CPU; fixed cost",
    ),
    "padding.py": (
        ["--config", "{tiny_config_file}", "--steps", "2", "--batch-size", "4", "--threads", "1"],
        rf"^  group by length\s+{NUMBER} s\s+{NUMBER} non-pad tokens/s  ratio\s+{NUMBER}  padding\s+{NUMBER}%$",
    ),
    # The recorder of the documentation's result files, on the cheapest script, into a temporary folder.
    "record.py": (["--records", "{tmp_path}", "sweep_expansion.py", "--repeats", "1"], r"sweep_expansion\.json$"),
    "sweep_expansion.py": (["--repeats", "1"], r"^expand_sweep, 1000 branches: median \d+ ms"),
    "sweep_planning.py": (["--branches", "1", "2", "--repeats", "1"], rf"^each further branch: {NUMBER} s \(\d+ jobs\)"),
    "throughput.py": (
        ["--config", "{tiny_config_file}", "--stages", "java.instruct_runs.first", "--steps", "1", "--threads", "1",
         "--rounds", "1", "--profile", "--dry-runs", "0"],  # a dry run would write .snakemake/ into the checkout
        # stage, batch, steps, tokens per step and epoch, loss and pad shares, workflow and
        # plain tokens/s, their ratio (a miss marked), the best steps' ratio, the turns' median ratio,
        # peak memory of each
        # (one round of one step), then each round's ratio
        rf"^java\.instruct_runs\.first\s+2\s+1\s+\d+\s+\d+\s+\d+%\s+\d+%\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}(?: <|  )"
        rf"\s+{NUMBER}\s+{NUMBER}\s+{NUMBER} GiB\s+{NUMBER} GiB  rounds: {NUMBER}$",
    ),
}


@pytest.fixture(scope="module")
def tiny_config_file(tmp_path_factory):
    """`.test/config.yaml` with absolute paths, as a file a script reads with --config."""
    folder = tmp_path_factory.mktemp("tiny-config")
    write_config(folder, tiny_config())
    return folder / "config.yaml"


class Fixtures(dict):
    """`{name}` in a smoke run's arguments: the fixture `name`, set up on first use."""

    def __init__(self, request):
        super().__init__()
        self.request = request

    def __missing__(self, name):
        self[name] = self.request.getfixturevalue(name)
        return self[name]


def test_every_benchmark_has_a_smoke_run():
    assert sorted(SMOKE_RUNS) == sorted(path.name for path in BENCHMARKS.glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SMOKE_RUNS))
def test_a_benchmark_runs_in_its_smoke_mode(script, request):
    arguments, result_line = SMOKE_RUNS[script]
    fixtures = Fixtures(request)
    command = [sys.executable, str(BENCHMARKS / script), *(argument.format_map(fixtures) for argument in arguments)]
    # This checkout's library, whatever lmtune the environment has installed (as a job gets it).
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(command)} failed ({result.returncode}):\n{output[-6000:]}"
    assert re.search(result_line, result.stdout, re.MULTILINE), f"no line matching {result_line!r} in:\n{result.stdout}"


@pytest.mark.slow
def test_the_rule_times_command_reads_a_real_run(tiny_run):
    """`lmtune rule-times`, a user's tool rather than a benchmark, on the tiny run's files."""
    command = [sys.executable, "-m", "lmtune", "rule-times", "--results", str(tiny_run / "results")]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert result.returncode == 0, result.stderr
    assert re.search(rf"^\| evaluate_continual_model \| \d+ \| {NUMBER} \| {NUMBER}% \|", result.stdout, re.MULTILINE)
