"""The workflow's own conventions, checked on every run of the suite: `snakemake --lint`
finds nothing, `snakefmt --check` would change nothing, and neither planning the workflow
nor a light job imports torch."""

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_snakemake, snakemake_command, snakemake_env, tiny_config, write_config

BIN = Path(sys.executable).parent


def test_snakefmt_would_change_nothing():
    result = subprocess.run([str(BIN / "snakefmt"), "--check", "Snakefile", "workflow"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakemake_lint_finds_nothing(tmp_path):
    write_config(tmp_path, tiny_config())
    result = run_snakemake(tmp_path, "--lint", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr


def test_planning_the_workflow_imports_no_torch(tmp_path):
    """Every Snakemake call (a dry run, a job's start on a cluster) loads the workflow:
    torch would add a second to each."""
    write_config(tmp_path, tiny_config())
    command = snakemake_command(tmp_path, "-n")
    result = subprocess.run([command[0], "-X", "importtime", *command[1:]], capture_output=True, text=True,
                            env=snakemake_env())
    assert result.returncode == 0, result.stdout + result.stderr
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "snakemake" in imported
    assert not {"torch", "transformers", "datasets"} & imported


# Each light job's script, and a module a heavy job needs but a light one must not.
LIGHT_SCRIPTS = [
    "split_corpus", "collect_metrics", "summarise_strategies", "plot_continual", "generate_arithmetic_data",
    "score_arithmetic", "prepare_java_corpus", "generate_java_tasks", "score_java", "cross_matrix",
    "prepare_instruct_data", "score_instruct", "java_pass_at_k", "plot_benchmarks", "cross_benchmark_table",
]


@pytest.mark.parametrize("script", LIGHT_SCRIPTS)
def test_a_light_job_imports_no_torch(script):
    """What the script imports before it reads `snakemake` (the job's first line): torch,
    transformers and datasets cost seconds per job."""
    source = (REPO / "workflow/scripts" / f"{script}.py").read_text()
    imports = "\n".join(line for line in source.splitlines() if line.startswith(("import ", "from ")))
    code = f"import sys\n{imports}\nprint(' '.join(m for m in ('torch', 'transformers', 'datasets') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO / "workflow/scripts", capture_output=True, text=True,
                            env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{script}.py imports {result.stdout.strip()}"
