"""Studies in the workflow (lmtune.study wired in): sweeps planned and run as branches of
one DAG, the study table, the run record, TensorBoard event files, weight interpolation
and the forgetting-learning frontier, on the tiny setting."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from conftest import clone_run, planned_jobs, run_snakemake, tiny_config, write_config

SETTING = "continual.phases.B.learning_rate"
BRANCH = "B.learning_rate=3e-4"


def small_continual_config() -> dict:
    """The tiny setting cut to the least that runs a continual study: one strategy, one
    seed, no interpolation, no other experiment."""
    config = tiny_config()
    del config["arithmetic"], config["java"], config["instruct"]
    continual = config["continual"]
    continual["strategies"] = {"sequential": {"method": "sequential"}}
    continual["seeds"] = [0]
    continual["interpolation"] = {"alphas": []}
    return config


def with_sweep(config: dict, values: list) -> dict:
    return {**config, "sweeps": {"settings": {SETTING: values}}}


def file_times(results: Path) -> dict[str, int]:
    """Every file of a results folder but the study's branches, and its modification time."""
    return {
        str(path.relative_to(results)): path.stat().st_mtime_ns
        for path in results.rglob("*")
        if path.is_file() and path.relative_to(results).parts[0] not in ("study", "study_plots", "tensorboard")
        and not path.name.startswith("study.")
    }


@pytest.mark.slow
def test_a_sweep_runs_its_branches_beside_an_untouched_base(tiny_run, tmp_path):
    # The base: the tiny run cut to one strategy and seed (its models and figures kept).
    workdir = clone_run(tiny_run, tmp_path / "study")
    base = {**small_continual_config(), "tracking": "tensorboard"}
    write_config(workdir, base)
    run_snakemake(workdir)
    results = workdir / "results"
    before = file_times(results)
    assert "run.json" in before and "continual/summary.json" in before

    # One branch runs (each branch is a whole run of its own); more are planned below.
    write_config(workdir, with_sweep(base, [3.0e-4]))
    run_snakemake(workdir)

    after = file_times(results)
    assert {path: after.get(path) for path in before} == before, "the base branch is the results folder itself, never recomputed"
    folder = results / "study" / BRANCH
    assert json.loads((folder / "continual/summary.json").read_text())["strategies"]["sequential"]
    assert json.loads((folder / "run.json").read_text())["config"]["continual"]["phases"]["B"]["learning_rate"] == 3.0e-4
    with open(results / "study.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["branch"] for row in rows] == ["base", BRANCH]
    assert [float(row[SETTING]) for row in rows] == [1.0e-4, 3.0e-4]
    learning = "continual/sequential/learning_B"
    assert float(rows[0]["Δ " + learning]) == 0.0
    assert float(rows[1]["Δ " + learning]) == pytest.approx(float(rows[1][learning]) - float(rows[0][learning]))
    assert float(rows[1][learning]) != float(rows[0][learning]), "the branch trained phase B anew"
    assert (results / f"study_plots/{SETTING}.png").stat().st_size > 0
    assert "| base |" in (results / "study.md").read_text()

    # A branch's training writes its TensorBoard event files under the top results folder
    # (a plain run's: test_workflow's new strategies).
    branch_events = results / "tensorboard" / f"study/{BRANCH}/continual/sequential/seed0/B"
    assert list(branch_events.glob("events.out.tfevents.*"))
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(branch_events))
    events.Reload()
    assert {"train/loss", "train/learning_rate", "train/grad_norm"} <= set(events.Tags()["scalars"])
    # The tracker is no setting of a run: changing it plans nothing.
    nothing = run_snakemake(workdir, "-n", "--config", "tracking=none")
    assert "Nothing to be done" in nothing.stdout + nothing.stderr

    # Two more values plan those branches' jobs and the study table, nothing of the others.
    write_config(workdir, with_sweep(base, [1.0e-5, 3.0e-4, 1.0e-3]))
    planned = run_snakemake(workdir, "-n")
    jobs = planned_jobs(planned.stdout)
    branch_rules = {rule for rule in jobs if rule.startswith("branch_")}
    assert len({rule.split("_")[1] for rule in branch_rules}) == 2, jobs
    assert set(jobs) - branch_rules == {"study_table", "all"}, jobs
    # Phase A trains as the base's: each branch trains only its phase B.
    assert sum(count for rule, count in jobs.items() if rule.endswith("_train_phase")) == 2
    assert not (folder / "continual/sequential/seed0/A").exists(), "the branch's phase A is the base's"
    assert not (folder / "continual/base").exists(), "the base model's evaluations are the base's"

    # A cap on the test side (continual.split.max_test_tokens): the branch tokenizes again
    # and evaluates every model on its capped stores, trains nothing (the training side is
    # the base's), and its figures are those of a plain run with the cap.
    capped = {"continual": {**base["continual"], "split": {**base["continual"]["split"], "max_test_tokens": 300}}}
    write_config(workdir, {**base, "sweeps": {"settings": {"continual.split.max_test_tokens": [300]}}})
    [branch] = branch_jobs(planned_jobs(run_snakemake(workdir, "-n").stdout)).values()
    assert "train_phase" not in branch and branch["evaluate_continual_model"] == 3, branch
    run_snakemake(workdir)
    plain = clone_run(tiny_run, tmp_path / "plain")
    write_config(plain, {**base, **capped})
    run_snakemake(plain)
    [folder] = [path for path in (results / "study").iterdir() if "max_test_tokens" in path.name]
    for model in ["base", "sequential/seed0/A", "sequential/seed0/B"]:
        for domain in "AB":
            evaluation = f"continual/{model}/eval/{domain}.json"
            figures = json.loads((folder / evaluation).read_text())
            assert figures == json.loads((plain / "results" / evaluation).read_text()), evaluation
            assert figures != json.loads((results / evaluation).read_text()), evaluation


@pytest.mark.parametrize(
    ("setting", "value", "own_trainings", "own_evaluations", "own_interpolations", "own_blocks"),
    [
        # Only EWC's phase B is the branch's own; the interpolated sequential run is the base's.
        ("continual.strategies.ewc.weight", 5.0, 1, 1, 0, 0),
        ("continual.phases.B.learning_rate", 3.0e-4, 2, 4, 2, 0),  # phase A is the base's, both phase B's own
        ("continual.interpolation.alphas", [0.5, 0.25], 0, 2, 2, 0),  # the new α's points only
        ("continual.split.test_fraction", 0.2, 3, 6, 2, 2),  # other data: nothing is the base's
        # A cap on the test side: the branch's own token stores, every model evaluated on
        # them; the training side is the base's, and so is every phase's model.
        ("continual.split.max_test_tokens", 300, 0, 6, 2, 2),
        # The top-level seed: no continual job reads it (a phase is seeded by its run's
        # seed, the split by its own), so every continual job is the base's (it was
        # retrained while sharing compared settings by hand, erring towards not sharing).
        ("seed", 1, 0, 0, 0, 0),
        # Blocks of another size (B's to train on, A's for EWC's Fisher): cut at load
        # from the base's token stores, nothing tokenized again.
        ("continual.phases.B.block_size", 16, 2, 4, 2, 0),
    ],
)
def test_a_branch_trains_and_evaluates_only_what_its_setting_changes(
    tmp_path, setting, value, own_trainings, own_evaluations, own_interpolations, own_blocks
):
    config = small_continual_config()
    config["continual"]["strategies"]["ewc"] = tiny_config()["continual"]["strategies"]["ewc"]
    config["continual"]["interpolation"] = {"alphas": [0.5], "strategy": "sequential"}
    write_config(tmp_path, {**config, "sweeps": {"settings": {setting: [value]}}})
    jobs = planned_jobs(run_snakemake(tmp_path, "-n").stdout)
    # The base: phase A (EWC's first phase is the sequential one), both phase B's; the
    # evaluations of the base model, of the three phases and of one model on each curve.
    assert (jobs["train_phase"], jobs["interpolate_weights"], jobs["evaluate_continual_model"]) == (3, 2, 6), jobs
    branch = {rule.split("_", 2)[2]: count for rule, count in jobs.items() if rule.startswith("branch_")}
    assert branch.get("train_phase", 0) == own_trainings, jobs
    assert branch.get("interpolate_weights", 0) == own_interpolations, jobs
    assert branch.get("evaluate_continual_model", 0) == own_evaluations, jobs
    # The base's token stores: both sides of A and of B, one tokenization per domain.
    assert (jobs["split_corpus"], branch.get("split_corpus", 0)) == (2, 2 if own_blocks else 0), jobs
    assert branch.get("tokenize_split", 0) == own_blocks, jobs
    assert jobs["tokenize_split"] == 2, jobs


def rules_of(experiment: str) -> set[str]:
    """The rules an experiment's stage files define (workflow/rules/<experiment>/)."""
    from conftest import REPO

    return {
        name
        for path in (REPO / "workflow/rules" / experiment).glob("*.smk")
        for name in re.findall(r"^rule (\w+):", path.read_text(), re.MULTILINE)
    }


def branch_jobs(jobs: dict[str, int]) -> dict[str, dict[str, int]]:
    """branch rule prefix -> rule -> planned jobs."""
    branches: dict[str, dict[str, int]] = {}
    for rule, count in jobs.items():
        if rule.startswith("branch_"):
            _, digest, name = rule.split("_", 2)
            branches.setdefault(digest, {})[name] = count
    return branches


# A setting of each experiment but continual's (test_a_branch_trains_and_evaluates_only_
# what_its_setting_changes): what a branch of it plans of that experiment, and its own cross
# evaluations (of its models that the setting changes).
EXPERIMENT_BRANCHES = {
    # The adapter, the answers, the scores; the data (and so every other model's cross
    # evaluation on it) is the base's.
    "arithmetic": ("arithmetic.lora.r", 4, lambda base: {r: n for r, n in base.items() if r != "generate_arithmetic_data"}, 1),
    # Stage 2 only: the corpus, stage 1 and the held-out LM evaluations are the base's.
    "java": (
        "java.instructions.train_pairs",
        6,
        lambda base: {
            rule: count
            for rule, count in base.items()
            if rule not in {"prepare_java_corpus", "tokenize_java_corpus", "train_java_autoregressive", "evaluate_java_lm"}
        },
        2,
    ),
    "instruct": ("instruct.max_length", 48, lambda base: base, 0),
}


@pytest.mark.parametrize("experiment", EXPERIMENT_BRANCHES)
def test_a_branch_of_one_experiments_settings_plans_only_what_differs_from_the_base(tmp_path, experiment):
    """Every experiment of the branch but the one whose setting changes is the base's:
    its jobs are planned once, for the base; the cross matrix evaluates again only the
    models the setting changes."""
    setting, value, own_of, own_cross_evaluations = EXPERIMENT_BRANCHES[experiment]
    write_config(tmp_path, {**tiny_config(), "sweeps": {"settings": {setting: [value]}}})
    jobs = planned_jobs(run_snakemake(tmp_path, "-n").stdout)
    [branch] = branch_jobs(jobs).values()
    base_of_experiment = {rule: count for rule, count in jobs.items() if rule in rules_of(experiment)}
    expected = own_of(base_of_experiment) | {"record_run": 1}
    if own_cross_evaluations:
        expected |= {"cross_evaluate": own_cross_evaluations, "cross_matrix": 1}
    assert branch == expected, jobs


def test_two_branches_that_make_the_same_thing_make_it_once(tmp_path):
    """A grid of an arithmetic setting and an instruct one: both branches with the new
    arithmetic setting make the same arithmetic results, planned once, in the folder of
    the first; each makes its own instruct results."""
    config = tiny_config()
    del config["continual"], config["java"]
    config["sweeps"] = {"mode": "grid", "settings": {"arithmetic.lora.r": [4], "instruct.max_length": [48, 56]}}
    write_config(tmp_path, config)
    jobs = planned_jobs(run_snakemake(tmp_path, "-n").stdout)
    branches = branch_jobs(jobs)
    assert len(branches) == 2, jobs
    trainings = sorted(branch.get("train_lora", 0) for branch in branches.values())
    assert trainings == [0, 1], jobs
    assert [branch.get("train_instruct", 0) for branch in branches.values()] == [1, 1], jobs


def test_a_branch_that_sets_a_whole_section_gets_the_schema_defaults_the_base_has(tmp_path):
    config = tiny_config()
    del config["continual"], config["java"], config["instruct"]
    lora = {key: value for key, value in config["arithmetic"]["lora"].items() if key != "quantize_4bit"}
    write_config(tmp_path, {**config, "sweeps": {"settings": {"arithmetic.lora": [{**lora, "r": 2}]}}})
    jobs = planned_jobs(run_snakemake(tmp_path, "-n").stdout)
    # The base's training and the branch's (QLoRA's setting left out: the default, LoRA).
    assert sum(count for rule, count in jobs.items() if rule.removeprefix("branch_").endswith("train_lora")) == 2


def test_a_branch_that_runs_what_the_base_runs_is_not_planned_and_is_said_once(tmp_path):
    """The base's own value: the same run as the base's, reported as its row."""
    config = {**tiny_config(), "experiments": ["instruct"]}
    rate = config["instruct"]["training"]["learning_rate"]
    write_config(tmp_path, {**config, "sweeps": {"settings": {"instruct.training.learning_rate": [rate]}}})
    result = run_snakemake(tmp_path, "-n")
    jobs = planned_jobs(result.stdout)
    assert not [rule for rule in jobs if rule.startswith("branch_")] and jobs["study_table"] == 1, jobs
    said = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("sweeps: ")]
    assert said == [
        f"sweeps: {branch} runs exactly what base runs (the same settings for the experiments that run): "
        "not planned again, reported as base's row of study.csv"
        for branch in (f"training.learning_rate={rate:g}",)
    ]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"continual.phases.B.learning_rat": [1.0e-3]}, "did you mean continual.phases.B.learning_rate?"),
        ({"continual.phases.B.learning_rate": ["fast"]}, "continual.phases.B.learning_rate"),
        ({"results": ["elsewhere"]}, "results is not a setting of a run"),
        # Issue 39: it was planned as a branch identical to the base, with no word.
        ({"arithmetic.lora.r": [4]},
         "arithmetic.lora.r is a setting of the arithmetic experiment, which this run does not include (experiments: continual)"),
    ],
)
def test_a_bad_sweep_fails_the_dry_run_naming_the_setting(tmp_path, settings, message):
    write_config(tmp_path, {**small_continual_config(), "sweeps": {"settings": settings}})
    result = run_snakemake(tmp_path, "-n", check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_the_tiny_run_records_itself_and_draws_the_frontier(tiny_run):
    results = tiny_run / "results"
    record = json.loads((results / "run.json").read_text())
    assert record["config"]["continual"]["interpolation"]["alphas"] == [0.5]
    assert "sweeps" not in record["config"] and "tracking" not in record["config"]
    assert {"commit", "dirty"} <= record["code"].keys() and record["packages"]["torch"]
    assert record["jobs"]["train_phase"]["sequential/seed0/A"]["s"] > 0
    with open(results / "rule_times.csv", newline="") as handle:
        assert "train_phase" in {row["rule"] for row in csv.DictReader(handle)}

    frontier = json.loads((results / "continual/frontier.json").read_text())
    assert set(frontier["strategies"]) == {"sequential", "ewc"}
    for points in frontier["curves"].values():
        assert [point["alpha"] for point in points] == [0.0, 0.5, 1.0]
    # α = 1 is the model after B itself: on the curve from A, learning and forgetting are
    # the run's own.
    run = json.loads((results / "continual/sequential/seed0/metrics.json").read_text())
    end = frontier["curves"]["θ(α), A → B"][-1]
    assert end["learning"] == pytest.approx(run["learning_B"])
    assert end["forgetting"] == pytest.approx(run["forgetting_A"])
    assert (results / "continual/frontier.png").stat().st_size > 0
    interpolated = results / "continual/interpolation/sequential/seed0"
    for curve in ["A_to_B", "base_to_B"]:
        for alpha in ["0.5"]:
            assert json.loads((interpolated / curve / f"alpha{alpha}/eval/A.json").read_text())["eval_loss"] > 0
            assert not (interpolated / curve / f"alpha{alpha}/model").exists(), "interpolated models are temporary"
