"""Issue 12: the workflow fails when it loads, in a few lines that name the setting, for
everything checkable without running a job; configs hold no traps; the command line
steers a run; jobs run the checkout's library; a failed job says why on the console."""

from __future__ import annotations

import copy
import os
import re
import time
from pathlib import Path

import pytest
import torch
import yaml

from conftest import REPO, run_snakemake, tiny_config, write_config


@pytest.fixture(scope="module")
def config():
    """The tiny setting (a local model folder: nothing to materialise)."""
    return tiny_config()


def dry_run(workdir: Path, config: dict, *args: str, env: dict | None = None):
    workdir.mkdir(exist_ok=True)
    write_config(workdir, config)
    if env:
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
    try:
        return run_snakemake(workdir, "-n", *args, check=False)
    finally:
        for key, value in (saved.items() if env else []):
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)


def error_of(result) -> str:
    assert result.returncode != 0, result.stdout
    return result.stdout + result.stderr


# --- point 4: no YAML aliases ------------------------------------------------------------


@pytest.mark.parametrize("path", [REPO / "config.yaml", *sorted((REPO / "config").glob("*.yaml"))], ids=lambda p: p.name)
def test_shipped_configs_have_no_yaml_aliases(path):
    """An alias (B: *phase) makes editing phase A's learning rate change B's too."""
    events = list(yaml.parse(path.read_text()))
    assert not [e for e in events if isinstance(e, yaml.AliasEvent)], f"{path.name} uses a YAML alias"
    assert not [e for e in events if getattr(e, "anchor", None)], f"{path.name} defines a YAML anchor"


# --- point 5: strategy overrides in the shared first phase ---------------------------------


def test_a_strategy_override_gets_the_first_phase_trained_with_it(tmp_path, config):
    plain = dry_run(tmp_path / "plain", config, "results/continual/ewc/seed0/metrics.json")
    assert "results/continual/ewc/seed0/A/model" not in plain.stdout, "EWC shares the sequential phase A"
    changed = copy.deepcopy(config)
    changed["continual"]["strategies"]["ewc"]["training"] = {"learning_rate": 5.0e-4}
    result = dry_run(tmp_path / "override", changed, "results/continual/ewc/seed0/metrics.json")
    assert result.returncode == 0, result.stdout + result.stderr
    # Its phase A is trained on its own, with the override, and phase B starts from it.
    assert "output: results/continual/ewc/seed0/A/model" in result.stdout
    assert "input: results/continual/ewc/seed0/A/model" in result.stdout


# --- point 6: targets the config does not define ------------------------------------------


@pytest.mark.parametrize(
    "target, message",
    [
        ("results/continual/nosuch/seed0/metrics.json", "continual strategy 'nosuch' is not configured: continual.strategies has sequential, ewc"),
        ("results/continual/sequential/seed7/metrics.json", "continual seed 7 is not configured: continual.seeds is [0, 1]"),
        ("results/java/metrics.json", "experiment 'java' is not run by this config (the config has no java section)"),
    ],
    ids=["strategy", "seed", "experiment"],
)
def test_a_target_the_config_does_not_define_is_an_error(tmp_path, config, target, message):
    continual_only = copy.deepcopy(config)
    del continual_only["java"], continual_only["arithmetic"], continual_only["instruct"]
    output = error_of(dry_run(tmp_path, continual_only, target))
    assert message in output, output
    assert not (tmp_path / "results").exists()


# --- point 7: steering from the command line ----------------------------------------------


def test_experiments_on_the_command_line_runs_one(tmp_path, config):
    result = dry_run(tmp_path, config, "--config", "experiments=[arithmetic]")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^train_lora\s+1$", result.stdout, re.MULTILINE)
    assert not re.search(r"^(train_phase|train_java_autoregressive|cross_evaluate)\s", result.stdout, re.MULTILINE)


def test_nested_command_line_values_are_coerced_through_the_schema(tmp_path, config):
    """Snakemake reads every nested --config value as a string."""
    good = dry_run(tmp_path / "good", config, "--config", "continual={phases: {A: {learning_rate: 1e-3, max_steps: 3}}}")
    # As strings, 1e-3 and 3 would fail the schema ("'1e-3' is not of type 'number'").
    assert good.returncode == 0, good.stdout + good.stderr
    bad = error_of(dry_run(tmp_path / "bad", config, "--config", "continual={phases: {A: {batch_size: eight}}}"))
    assert "config continual.phases.A.batch_size: 'eight' is not of type 'integer'" in bad


def test_a_target_read_as_a_config_file_is_named(tmp_path, config):
    (tmp_path / "results").mkdir(parents=True)
    (tmp_path / "results/summary.json").write_text('{"a": 1}')
    (tmp_path / "overlay.yaml").write_text("continual:\n  seeds: [0, 1]\n")
    output = error_of(dry_run(tmp_path, config, "--configfile", str(tmp_path / "overlay.yaml"), str(tmp_path / "results/summary.json")))
    assert "--configfile took" in output and "write --configfile=FILE" in output


@pytest.mark.parametrize("results, message", [
    (".", "results: '.' is the working folder"),
    ("sub/..", "results: 'sub/..' is the working folder"),
    ("..", "results: '..' holds the working folder"),
    (str(REPO), f"results: '{REPO}' is the checkout"),
], ids=["dot", "a-way-back", "parent", "checkout"])
def test_a_results_folder_that_is_the_working_folder_or_the_checkout_is_refused(tmp_path, config, results, message):
    """Outputs, logs, checkpoints and a study's branches would mix with the config and
    the code (before, `results: .` was told to put targets before --configfile)."""
    config = {**config, "results": results}
    output = error_of(dry_run(tmp_path / "work", config, f"--configfile={tmp_path / 'work' / 'config.yaml'}"))
    assert message in output and "--configfile took" not in output, output
    assert "name a folder of its own inside it for the results" in output


# --- point 10 (and 9): fail fast, in a few lines --------------------------------------------


def test_a_schema_error_takes_a_few_lines(tmp_path, config):
    bad = copy.deepcopy(config)
    bad["contnual"] = bad.pop("continual")
    output = error_of(dry_run(tmp_path, bad))
    assert "config top level: Additional properties are not allowed ('contnual' was unexpected)" in output
    assert len(output.strip().splitlines()) <= 8, output


@pytest.mark.parametrize(
    "change, message",
    [
        ({"compute": {"device": "cpu", "precision": "fp16"}}, "compute.precision fp16 needs a CUDA device"),
        ({"compute": {"device": "cuda", "precision": "fp32"}}, "compute.device is 'cuda' but torch"),
        ({"base_model": {"source": "models/my-finetune"}}, "base_model: 'models/my-finetune' is no local folder"),
        ({"base_model": {"source": "my/models/folder"}}, "base_model: model folder my/models/folder does not exist"),
    ],
    ids=["fp16-on-cpu", "cuda-missing", "relative-folder-or-hub-id", "relative-folder"],
)
def test_environment_errors_stop_the_load(tmp_path, config, change, message):
    if torch.cuda.is_available() and "compute" in change:
        pytest.skip("this machine has a GPU")
    output = error_of(dry_run(tmp_path, {**config, **change}, env={"HF_HUB_OFFLINE": "1"}))
    assert message in output, output


def test_a_hub_id_without_a_hub_fails_at_once(tmp_path, config):
    start = time.monotonic()
    output = error_of(dry_run(tmp_path, {**config, "base_model": {"source": "no-such-org/no-such-model"}}))
    assert "base_model: 'no-such-org/no-such-model' is no local folder" in output
    assert time.monotonic() - start < 30


def test_a_broken_java_corpus_stops_the_load(tmp_path, config):
    broken = tmp_path / "snippets.jsonl"
    broken.write_text('{"code": "class A {}"}\nnot json\n')
    bad = copy.deepcopy(config)
    bad["java"]["corpus"]["sources"] = [str(broken)]
    assert f"java.corpus.sources: {broken}, line 2: not a JSON object with a 'code' field" in error_of(dry_run(tmp_path / "run", bad))


def test_a_warm_up_that_covers_a_one_step_run_stops_the_load(tmp_path, config):
    bad = copy.deepcopy(config)
    bad["java"]["autoregressive"]["warmup_steps"] = 0.1
    output = error_of(dry_run(tmp_path, bad))
    assert "java.autoregressive: warmup_steps 0.1 makes 1 warm-up step(s) of the run's 1" in output


# --- point 3: the default profile, and a failed job on the console ---------------------------


@pytest.mark.slow
def test_the_default_profile_loads_and_a_failed_job_prints_its_log_tail(nan_model_run):
    _, result = nan_model_run
    console = result.stdout + result.stderr
    assert result.returncode != 0
    assert re.search(r"Using workflow specific profile \S*profiles/default", console), console
    assert "train_phase failed: TrainingError: training loss became nan at step 1 of phase A (sequential, seed 0)" in console
    assert "--- last lines of results/logs/train_phase/sequential/seed0/A.log ---" in console


# --- point 8: jobs run the checkout's library ----------------------------------------------


@pytest.mark.slow
def test_jobs_run_the_checkouts_library_not_an_installed_one(tmp_path, config):
    """Another lmtune first on PYTHONPATH (a second clone sharing the environment)."""
    other = tmp_path / "other-clone" / "lmtune"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("raise ImportError('the other clone s lmtune was imported')\n")
    workdir = tmp_path / "run"
    workdir.mkdir()
    write_config(workdir, config)
    os.environ["PYTHONPATH"], saved = str(other.parent), os.environ.get("PYTHONPATH")
    try:
        result = run_snakemake(workdir, "results/continual/data/A/split.json", check=False)
    finally:
        os.environ.pop("PYTHONPATH") if saved is None else os.environ.__setitem__("PYTHONPATH", saved)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (workdir / "results/continual/data/A/split.json").is_file()
