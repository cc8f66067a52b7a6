"""Studies: sweep expansion, the study table, headline metrics, the run record and the
comparison of results folders, on fixture folders shaped by the real metric functions."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from conftest import REPO
from lmtune.arithmetic.scoring import score
from lmtune.core.schema import coerce_to_schema, fill_defaults
from lmtune.experiments import config_schema
from lmtune.continual.metrics import metrics_report, stage_names, summarise_runs
from lmtune.core import atomic
from lmtune.java.tasks import score_generations
from lmtune.study.compare import compare_folders
from lmtune.study.headline import headline_metrics
from lmtune.study.plots import plot_setting, setting_slice
from lmtune.study.record import read_benchmarks, rule_times, rule_times_markdown, write_run_record
from lmtune.study.sweeps import (
    BASE_ID,
    MAX_ID_LENGTH,
    MODES,
    Branch,
    SweepError,
    apply_overrides,
    distinct_branches,
    expand_sweep,
    format_value,
    read_sweep_sheet,
    resolved_config,
)
from lmtune.study.table import DELTA, markdown_table, study_table, write_study_table

LR = "continual.phases.B.learning_rate"
RANK = "arithmetic.lora.r"


@pytest.fixture(scope="module")
def schema() -> dict:
    return config_schema()


@pytest.fixture(scope="module")
def base(schema) -> dict:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    coerce_to_schema(config, schema)  # 1.0e-4 stays a float; as the workflow loads it
    return config


def sweep(mode: str, **settings) -> dict:
    return {"mode": mode, "settings": settings or {LR: [1e-5, 1e-4, 3e-4], RANK: [4, 8]}}


# --- sweep expansion --------------------------------------------------------------


def test_one_at_a_time_gives_each_value_alone_and_the_base_once(base, schema):
    assert base["continual"]["phases"]["B"]["learning_rate"] == 1e-4 and base["arithmetic"]["lora"]["r"] == 8
    branches = expand_sweep(sweep("one_at_a_time"), base, schema)
    assert [b.id for b in branches] == ["base", "B.learning_rate=1e-5", "B.learning_rate=3e-4", "lora.r=4"]
    assert branches[0].overrides == {}
    assert branches[2].overrides == {LR: 3e-4}
    assert branches[3].overrides == {RANK: 4}


def test_grid_is_the_cross_product_without_restating_base_values(base, schema):
    branches = expand_sweep(sweep("grid"), base, schema)
    assert len(branches) == 3 * 2  # the (1e-4, 8) combination is the base itself
    assert branches[0].id == BASE_ID
    assert {b.id for b in branches} == {
        "base", "B.learning_rate=1e-5", "B.learning_rate=3e-4", "lora.r=4",
        "B.learning_rate=1e-5,lora.r=4", "B.learning_rate=3e-4,lora.r=4",
    }
    both = next(b for b in branches if b.id == "B.learning_rate=3e-4,lora.r=4")
    assert both.overrides == {LR: 3e-4, RANK: 4}


def test_yaml_strings_are_typed_by_the_schema(base, schema):
    # PyYAML reads 3e-4 (no dot) as a string: the schema says it is a number.
    settings = yaml.safe_load(f"{LR}: [3e-4]\n{RANK}: ['16']")
    branches = expand_sweep({"mode": "grid", "settings": settings}, base, schema)
    assert branches[1].overrides == {LR: 3e-4, RANK: 16}


def test_an_unknown_setting_names_the_nearest_valid_path(base, schema):
    with pytest.raises(SweepError, match=r"unknown setting continual\.phases\.B\.learnin_rate.*did you mean continual\.phases\.B\.learning_rate\?"):
        expand_sweep(sweep("grid", **{"continual.phases.B.learnin_rate": [1e-3]}), base, schema)
    with pytest.raises(SweepError, match=r"did you mean arithmetic\.lora\.r\?"):
        expand_sweep(sweep("grid", **{"arithmetic.lorra.r": [4]}), base, schema)


def test_a_setting_only_the_schema_knows_is_valid(base, schema):
    assert "divergence_ratio" not in base["continual"]["phases"]["B"]
    branches = expand_sweep(sweep("grid", **{"continual.phases.B.divergence_ratio": [0, 5]}), base, schema)
    assert [b.overrides for b in branches[1:]] == [{"continual.phases.B.divergence_ratio": 0}, {"continual.phases.B.divergence_ratio": 5}]


def test_a_value_of_the_wrong_type_is_a_schema_error_naming_the_path(base, schema):
    with pytest.raises(SweepError, match=r"arithmetic\.lora\.r.*'four' is not of type 'integer'"):
        expand_sweep(sweep("grid", **{RANK: [4, "four"]}), base, schema)
    with pytest.raises(SweepError, match=r"continual\.phases\.B\.learning_rate.*maximum"):
        expand_sweep(sweep("one_at_a_time", **{LR: [2.0]}), base, schema)


def test_bad_sweep_sections_are_named(base, schema):
    with pytest.raises(SweepError, match="sweeps.mode"):
        expand_sweep({"mode": "random", "settings": {RANK: [4]}}, base, schema)
    with pytest.raises(SweepError, match="twice"):
        expand_sweep(sweep("grid", **{RANK: [4, 4]}), base, schema)
    with pytest.raises(SweepError, match="non-empty list"):
        expand_sweep(sweep("grid", **{RANK: 4}), base, schema)


def test_ids_are_readable_stable_and_hashed_when_long(base, schema):
    long_sweep = sweep("grid", **{
        "continual.phases.A.learning_rate": [3e-4], "continual.phases.B.learning_rate": [3e-4],
        "java.autoregressive.learning_rate": [3e-4], "arithmetic.training.learning_rate": [3e-4],
    })
    first = expand_sweep(long_sweep, base, schema)
    again = expand_sweep(long_sweep, base, schema)
    assert [b.id for b in first] == [b.id for b in again]
    longest = first[-1]
    assert len(longest.overrides) == 4 and len(longest.id) <= MAX_ID_LENGTH and "~" in longest.id
    assert longest.id.startswith("A.learning_rate=3e-4,B.learning_rate=3e-4")
    # Two paths with the same last parts get longer labels, never the same one.
    clash = expand_sweep(sweep("one_at_a_time", **{"continual.base_model.source": ["m/x"], "java.base_model.source": ["m/y"]}), base, schema)
    assert [b.id for b in clash[1:]] == ["continual.base_model.source=m_x", "java.base_model.source=m_y"]
    assert [format_value(v) for v in (3e-4, 1e-5, 0.001, 0.25, 8, True, ["q_proj", "v_proj"])] == [
        "3e-4", "1e-5", "0.001", "0.25", "8", "true", "q_proj+v_proj"]


def test_resolved_config_deep_merges_and_checks_the_settings_together(base, schema):
    branch = Branch("x", {LR: 3e-4, RANK: 4})
    config = resolved_config(base, branch, schema)
    assert config["continual"]["phases"]["B"]["learning_rate"] == 3e-4
    assert config["continual"]["phases"]["A"] == base["continual"]["phases"]["A"]
    assert config["arithmetic"]["lora"]["alpha"] == base["arithmetic"]["lora"]["alpha"]
    assert base["continual"]["phases"]["B"]["learning_rate"] == 1e-4  # the base untouched
    with pytest.raises(SweepError, match="branch bad: continual.strategies.x: 'fraction' is a required property"):
        resolved_config(base, Branch("bad", {"continual.strategies.x.method": "replay"}), schema)  # no fraction
    with pytest.raises(SweepError, match="holds a value"):
        apply_overrides(base, {"seed.x": 1})


# Each change a branch may make: a value, a new level, a whole section, a setting the
# base leaves to its default; then values the schema refuses, in each of those places.
BRANCH_CHANGES = [
    {LR: 3e-4},
    {LR: 3e-4, RANK: 4},
    {"continual.strategies.ewc.method": "ewc"},
    {"continual.strategies.replay": {"method": "replay", "ratio": 0.25}},
    {"arithmetic.lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj"]}},
    {"arithmetic.lora.quantize_4bit": True},
    {"compute.device": "cpu"},
    {LR: -1.0},
    {LR: "fast"},
    {"continual.phases.B.learnin_rate": 1e-3},
    {"continual.strategies.ewc.method": ""},
    {"arithmetic.lora": {"r": "four"}},
    {"arithmetic.data.target_range": [1]},
    {"compute.device": 3},
    {"no_such_section.x": 1},
]


@pytest.mark.parametrize("overrides", BRANCH_CHANGES, ids=lambda overrides: ",".join(overrides))
def test_a_branch_checked_and_filled_where_it_changed_is_the_branch_checked_and_filled_whole(base, schema, overrides):
    from lmtune.core.schema import ConfigError, check_schema, fill_defaults
    from lmtune.study.sweeps import new_parts

    filled = apply_overrides(base, {})
    fill_defaults(filled, schema)

    def verdict(config, **where):
        try:
            check_schema(config, schema, **where)
        except ConfigError as exc:
            return str(exc)
        return None

    whole, part = apply_overrides(filled, overrides), apply_overrides(filled, overrides)
    assert verdict(part, changed=list(overrides)) == verdict(whole)
    if verdict(whole) is None:
        fill_defaults(whole, schema)
        fill_defaults(part, schema, changed=new_parts(filled, overrides))
        assert part == whole


def test_a_section_a_branch_makes_anew_is_checked_whole(schema):
    """instruct.lora.r swept on a base without an instruct.lora section makes one with r
    alone: the section's other required settings are missing, and said so."""
    from lmtune.core.schema import ConfigError, check_schema

    base = yaml.safe_load((REPO / ".test" / "config.yaml").read_text())
    del base["instruct"]["lora"]
    check_schema(base, schema)
    branch = apply_overrides(base, {"instruct.lora.r": 4})
    for where in ({}, {"changed": ["instruct.lora.r"]}):
        with pytest.raises(ConfigError, match="config instruct.lora: 'alpha' is a required property"):
            check_schema(branch, schema, **where)


def test_a_sheet_of_runs_gives_its_rows_as_branches(tmp_path, base, schema):
    sheet = tmp_path / "runs.tsv"
    sheet.write_text(
        "# one row per run\n"
        f"id\t{LR}\t{RANK}\tarithmetic.lora.target_modules\n"
        "\t3e-4\t\t\n"
        "small-rank\t\t4\t[q_proj, v_proj]\n"
        "\t1.0e-4\t8\t\n"  # the base's own values
    )
    branches = read_sweep_sheet(sheet, base, schema)
    assert [(b.id, b.overrides) for b in branches] == [
        ("base", {}),
        ("B.learning_rate=3e-4", {LR: 3e-4}),
        ("small-rank", {RANK: 4, "arithmetic.lora.target_modules": ["q_proj", "v_proj"]}),
    ]


@pytest.mark.parametrize("text, message", [
    (f"{LR}\n3e-4\n3.0e-4\n", "row 2 sets the same settings as row 1"),
    (f"{LR}\tarithmetic.lora.rr\n3e-4\t4\n", r"did you mean arithmetic\.lora\.r\?"),
    (f"{RANK}\nfour\n", r"arithmetic\.lora\.r.*not of type 'integer'"),
    (f"id\t{RANK}\nmy run\t4\n", r"row 1: 'my run' does not match"),
    (f"{RANK}\tbad-column\n4\t1\n", r"row 1: 'bad-column' does not match"),
    (f"{RANK}\n4\t5\n", "more or fewer cells"),
    (f"id\t{RANK}\nsame\t4\nsame\t16\n", "row 2: id 'same' is already row 1's"),
])
def test_a_bad_sheet_is_named_by_row(tmp_path, base, schema, text, message):
    sheet = tmp_path / "runs.tsv"
    sheet.write_text(text)
    with pytest.raises(SweepError, match=message):
        read_sweep_sheet(sheet, base, schema)


@pytest.mark.parametrize("identity", [".", "..", "a/b", "../x", "/tmp"])
def test_a_sheet_id_that_is_not_a_folder_of_its_own_under_study_is_refused_naming_the_row(tmp_path, base, schema, identity):
    sheet = tmp_path / "runs.tsv"
    sheet.write_text(f"id\t{RANK}\nfine\t4\n{identity}\t16\n")
    with pytest.raises(SweepError, match=r"runs\.tsv: row 2: (id '[./a-z]+' is not a folder name of its own|'[./a-z]+' does not match)"):
        read_sweep_sheet(sheet, base, schema)


def test_two_branches_that_would_get_one_id_are_an_error_naming_both(tmp_path, base, schema):
    """Ids round numbers to 6 significant digits and write '/' as '_': two different
    branches must not share a folder (before, the second was dropped without a word)."""
    with pytest.raises(SweepError, match=r"continual\.phases\.B\.learning_rate=0\.0010000001 and "
                                         r"continual\.phases\.B\.learning_rate=0\.0010000002 both get the id 'B\.learning_rate=0\.001'"):
        expand_sweep(sweep("one_at_a_time", **{LR: [1.0000001e-3, 1.0000002e-3]}), base, schema)
    with pytest.raises(SweepError, match=r"source='m/x\.gguf' and .*source='m_x\.gguf' both get the id 'base_model\.source=m_x\.gguf'"):
        expand_sweep(sweep("one_at_a_time", **{"base_model.source": ["m/x.gguf", "m_x.gguf"]}), base, schema)
    sheet = tmp_path / "runs.tsv"
    sheet.write_text(f"{LR}\n1.0000001e-3\n3e-4\n1.0000002e-3\n")
    with pytest.raises(SweepError, match=r"row 3: id 'B\.learning_rate=0\.001' is already row 1's \(an id writes a number"):
        read_sweep_sheet(sheet, base, schema)


def test_a_branch_that_runs_what_the_base_or_another_branch_runs_is_one_of_its_repeats(base, schema):
    """The same resolved settings: the base's own value, or a setting's default written out."""
    strategy = "continual.interpolation.strategy"  # the base leaves it to its default, sequential
    branches = expand_sweep(sweep("grid", **{LR: [1e-4, 3e-4], strategy: ["sequential"]}), base, schema)
    assert [(b.id, b.repeats) for b in branches] == [
        ("base", []), ("interpolation.strategy=sequential", []), ("B.learning_rate=3e-4,interpolation.strategy=sequential", []),
    ]
    configs = {branch.id: resolved_config(base, branch, schema) for branch in branches}
    for config in configs.values():
        fill_defaults(config, config_schema())
    distinct = distinct_branches(branches, configs)
    assert [(b.id, b.repeats) for b in distinct] == [
        ("base", ["interpolation.strategy=sequential"]), ("B.learning_rate=3e-4,interpolation.strategy=sequential", []),
    ]
    # Where arithmetic runs, every branch is a run of its own.
    everything = {branch.id: resolved_config(base, branch, schema) for branch in expand_sweep(sweep("grid", **{LR: [1e-4, 3e-4], RANK: [4, 8]}), base, schema)}
    assert [b.id for b in distinct_branches(expand_sweep(sweep("grid", **{LR: [1e-4, 3e-4], RANK: [4, 8]}), base, schema), everything)] == [
        "base", "lora.r=4", "B.learning_rate=3e-4,lora.r=4", "B.learning_rate=3e-4"]


def test_a_sweep_of_an_experiment_the_run_does_not_include_is_an_error_naming_it(base, schema, tmp_path):
    """Issue 39: `arithmetic.lora.r` swept where only continual runs was planned as a
    branch identical to the base, with no word."""
    config = {**base, "experiments": ["continual"]}
    message = r"arithmetic\.lora\.r is a setting of the arithmetic experiment, which this run does not include \(experiments: continual\)"
    for mode in MODES:
        with pytest.raises(SweepError, match="sweeps.settings: " + message):
            expand_sweep(sweep(mode, **{LR: [3e-4], RANK: [4]}), config, schema)
    with pytest.raises(SweepError, match="sweeps.settings: instruct.lora.r is a setting of the instruct experiment"):
        expand_sweep(sweep("one_at_a_time", **{"instruct.lora.r": [4]}), base, schema)
    # Benchmark scores lie in the model folders a branch shares with the base.
    with pytest.raises(SweepError, match=r"sweeps.settings: benchmarks.batch_size: benchmark tasks are not swept"):
        expand_sweep(sweep("one_at_a_time", **{"benchmarks.batch_size": [4]}), base, schema)
    sheet = tmp_path / "runs.tsv"
    sheet.write_text(f"id\t{LR}\t{RANK}\nfast\t3e-4\t\nsmall\t\t4\n")
    with pytest.raises(SweepError, match=r"runs\.tsv: " + message):
        read_sweep_sheet(sheet, config, schema)
    # A branch that adds the experiment may set its settings; one that does not may not.
    branches = expand_sweep(sweep("grid", **{"experiments": [["continual", "arithmetic"]], RANK: [4]}), config, schema)
    assert branches[-1].overrides == {"experiments": ["continual", "arithmetic"], RANK: 4}
    with pytest.raises(SweepError, match="sweeps.settings: " + message):
        expand_sweep(sweep("one_at_a_time", **{"experiments": [["continual", "arithmetic"]], RANK: [4]}), config, schema)
    sheet.write_text(f"experiments\t{RANK}\n[continual, arithmetic]\t4\n[continual]\t4\n")
    with pytest.raises(SweepError, match=r"runs\.tsv: row 2: " + message):
        read_sweep_sheet(sheet, config, schema)


def test_a_1000_branch_grid_expands_in_well_under_a_second(base, schema):
    settings = {
        "continual.phases.A.learning_rate": [1e-5 * (k + 1) for k in range(10)],
        "continual.phases.B.learning_rate": [1e-5 * (k + 1) for k in range(10)],
        RANK: list(range(1, 11)),
    }
    start = time.perf_counter()
    branches = expand_sweep({"mode": "grid", "settings": settings}, base, schema)
    elapsed = time.perf_counter() - start
    assert len(branches) == 1000  # the base's (1e-4, 1e-4, 8) is one of the 1000
    assert len({b.id for b in branches}) == 1000
    assert elapsed < 0.5, f"{elapsed:.2f} s"


# --- fixture results folders, shaped by the real metric functions -----------------


def continual_summary(forgetting_a: float, learning_b: float) -> dict:
    """summarise_runs over one strategy and two seeds whose loss matrices give these
    forgetting and learning figures (seed 1 a little off seed 0)."""
    runs = {}
    for seed, shift in ((0, 0.0), (1, 0.02)):
        after_a = [4.0, 5.0]
        matrix = [[5.0, 5.2], after_a, [after_a[0] + forgetting_a + shift, after_a[1] - learning_b - shift]]
        evals = {f"{stage}_{d}": {"eval_loss": row[j], "eval_perplexity": math.exp(row[j]), "eval_tokens": 10}
                 for stage, row in zip(stage_names(["A", "B"]), matrix) for j, d in enumerate(["A", "B"])}
        runs[seed] = metrics_report(evals, ["A", "B"])
    return summarise_runs({"sequential": runs})


def arithmetic_metrics(exact: int) -> dict:
    """score() over 4 judged answers of which `exact` are right (the others off by 2)."""
    records = [{"reason": "ok", "well_formed": True, "parsed_sum": 10, "error": 0 if i < exact else 2, "exact": i < exact}
               for i in range(4)]
    return {"lora": {"eval_held_out": score(records)}}


def java_metrics(functional: int) -> dict:
    records = [{"split": "test", "family": "getter", "exact_match": False, "compiles": True, "signature": True,
                "functional": i < functional, "reason": "ok" if i < functional else "wrong_output"} for i in range(4)]
    return {"generation": {"stage2_first": score_generations(records)}, "heldout_lm": {}}


def results_folder(folder, *, forgetting_a, learning_b, exact, functional, config=None, benchmarks=True):
    atomic.write_json(folder / "continual" / "summary.json", continual_summary(forgetting_a, learning_b))
    atomic.write_json(folder / "arithmetic" / "metrics.json", arithmetic_metrics(exact))
    atomic.write_json(folder / "java" / "metrics.json", java_metrics(functional))
    if benchmarks:
        header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        for job, seconds, rss in (("train_phase/sequential/seed0/A", 10.0, "700.5"), ("train_phase/sequential/seed0/B", 30.0, "NA"),
                                  ("train_lora", 20.0, "650.0")):
            atomic.write_text(folder / "benchmarks" / f"{job}.tsv", header + f"{seconds}\t0:00:10\t{rss}\t1\t1\t1\t0\t0\t50\t9\n")
    if config is not None:
        write_run_record(folder, config, repo=REPO)
    return folder


def test_headline_metrics_per_experiment(tmp_path):
    folder = results_folder(tmp_path, forgetting_a=0.5, learning_b=0.8, exact=3, functional=1)
    metrics = headline_metrics(folder)
    assert metrics["continual/sequential/forgetting_A"] == pytest.approx(0.51)  # mean of 0.5 and 0.52
    assert metrics["continual/sequential/learning_B"] == pytest.approx(0.81)
    assert "continual/sequential/final_average_loss" in metrics
    assert "continual/sequential/forgetting_B" not in metrics  # the last domain is learned, not forgotten
    assert metrics["arithmetic/lora/eval_held_out/exact_sum_rate"] == 0.75
    assert metrics["arithmetic/lora/eval_held_out/mean_absolute_error"] == 0.5
    assert metrics["arithmetic/lora/eval_held_out/well_formed_rate"] == 1.0
    assert metrics["java/stage2_first/test/functional_accuracy"] == 0.25
    assert metrics["java/stage2_first/test/syntax_rate"] == 1.0
    assert len(metrics) == 3 + 3 + 4


# --- the study table and its plots ----------------------------------------------------


def test_study_table_has_settings_metrics_and_deltas(tmp_path, base, schema):
    branches = expand_sweep(sweep("one_at_a_time"), base, schema)
    metrics = {
        "base": {"continual/sequential/forgetting_A": 0.2, "java/x/test/syntax_rate": None},
        "B.learning_rate=1e-5": {"continual/sequential/forgetting_A": 0.1, "java/x/test/syntax_rate": 0.5},
        "B.learning_rate=3e-4": {"continual/sequential/forgetting_A": 0.9, "java/x/test/syntax_rate": 0.5},
    }  # lora.r=4 has not run yet
    table = study_table(base, branches, metrics)
    assert list(table["branch"]) == [b.id for b in branches]
    assert list(table.columns[:3]) == ["branch", LR, RANK]
    assert list(table[LR]) == [1e-4, 1e-5, 3e-4, 1e-4] and list(table[RANK]) == [8, 8, 8, 4]
    forgetting = "continual/sequential/forgetting_A"
    assert table[DELTA + forgetting].tolist()[:3] == pytest.approx([0.0, -0.1, 0.7])
    assert table[DELTA + "java/x/test/syntax_rate"].isna().all()  # no base figure: no delta
    assert pd.isna(table.loc[3, forgetting])

    write_study_table(table, tmp_path / "study.csv", tmp_path / "study.md")
    assert pd.read_csv(tmp_path / "study.csv").shape == table.shape
    markdown = (tmp_path / "study.md").read_text().splitlines()
    assert markdown[0].startswith("| branch | continual.phases.B.learning_rate | arithmetic.lora.r |")
    assert markdown[3].startswith("| B.learning_rate=1e-5 | 1e-05 | 8 | 0.1 | -0.1 | 0.5 | n/a |")
    assert len(markdown) == 2 + len(branches)

    assert [branch for _, branch in setting_slice(branches, base, LR)] == ["base", "B.learning_rate=1e-5", "B.learning_rate=3e-4"]
    plot_setting(branches, base, metrics, LR, tmp_path / "lr.png")
    plot_setting(branches, base, metrics, "arithmetic.lora.target_modules", tmp_path / "modules.png")  # the base alone
    assert (tmp_path / "lr.png").stat().st_size > 5000


# --- the run record ------------------------------------------------------------------


def test_run_record_holds_config_commit_packages_machine_and_job_times(tmp_path, base):
    folder = results_folder(tmp_path, forgetting_a=0.5, learning_b=0.8, exact=3, functional=1, config=base)
    record = json.loads((folder / "run.json").read_text())
    assert record["config"] == json.loads(json.dumps(base))
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert record["code"]["commit"] == head and isinstance(record["code"]["dirty"], bool)
    import torch
    import transformers

    assert record["packages"]["torch"] == torch.__version__ and record["packages"]["transformers"] == transformers.__version__
    assert set(record["packages"]) == {"torch", "transformers", "peft", "datasets", "snakemake", "bitsandbytes", "accelerate"}
    assert record["machine"]["cpu"] and record["machine"]["cpu_count"] >= 1 and isinstance(record["machine"]["gpus"], list)
    assert record["jobs"]["train_phase"]["sequential/seed0/A"] == {"s": 10.0, "max_rss": 700.5}
    assert record["jobs"]["train_phase"]["sequential/seed0/B"] == {"s": 30.0, "max_rss": None}  # NA: not sampled
    assert record["jobs"]["train_lora"]["train_lora"]["s"] == 20.0

    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    write_run_record(outside, {}, repo=outside)
    assert json.loads((outside / "run.json").read_text())["code"] | {"lmtune_source": None} == {
        "commit": None, "dirty": None, "lmtune_source": None}


def test_rule_times_table_and_the_benchmark_script_share_one_reader(tmp_path):
    results_folder(tmp_path, forgetting_a=0.5, learning_b=0.8, exact=3, functional=1)
    jobs = read_benchmarks(tmp_path / "benchmarks")
    table = rule_times(jobs)
    assert list(table["rule"]) == ["train_phase", "train_lora"]
    assert list(table["seconds"]) == [40.0, 20.0] and list(table["share"]) == ["67%", "33%"]
    assert list(table["peak_rss_mb"]) == [700, 650]
    markdown = rule_times_markdown(jobs)
    assert markdown.splitlines()[-1] == "| total | 3 | 60 | 100% | 700 |  |"
    printed = subprocess.run([sys.executable, "-m", "lmtune", "rule-times", "--results", str(tmp_path)], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
    assert printed == markdown


# --- comparing results folders ---------------------------------------------------------


def test_compare_reports_differing_settings_and_metric_deltas(tmp_path, base):
    changed = apply_overrides(base, {LR: 3e-4})
    first = results_folder(tmp_path / "lr1e-4", forgetting_a=0.2, learning_b=0.5, exact=2, functional=1, config=base)
    second = results_folder(tmp_path / "lr3e-4", forgetting_a=0.9, learning_b=0.8, exact=2, functional=3, config=changed)
    table = compare_folders([first, second])
    settings = table[table["section"] == "setting"]
    assert settings["name"].tolist() == [LR]
    assert settings[["lr1e-4", "lr3e-4"]].values.tolist() == [[1e-4, 3e-4]]
    assert table[table["section"] == "run"].empty  # same code, same packages
    metrics = table[table["section"] == "metric"].set_index("name")
    assert metrics.loc["continual/sequential/forgetting_A", DELTA + "lr3e-4"] == pytest.approx(0.7)
    assert metrics.loc["arithmetic/lora/eval_held_out/exact_sum_rate", DELTA + "lr3e-4"] == 0
    assert metrics.loc["java/stage2_first/test/functional_accuracy", DELTA + "lr3e-4"] == pytest.approx(0.5)


def run_compare(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lmtune", "compare", *map(str, args)], capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})


def test_the_compare_command_on_three_folders(tmp_path, base):
    a = results_folder(tmp_path / "a", forgetting_a=0.2, learning_b=0.5, exact=2, functional=1, config=base)
    b = results_folder(tmp_path / "b", forgetting_a=0.9, learning_b=0.8, exact=4, functional=1, config=apply_overrides(base, {LR: 3e-4}))
    c = results_folder(tmp_path / "c", forgetting_a=0.2, learning_b=0.5, exact=2, functional=1, config=apply_overrides(base, {RANK: 4}))

    done = run_compare(a, b, c)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "## Settings that differ" in out and "## Headline metrics" in out and "## Code and packages" not in out
    assert f"| {RANK} | 8 | 8 | 4 |" in out
    assert f"| {LR} | 0.0001 | 0.0003 | 0.0001 |" in out
    assert "| name | a | b | c | Δ b | Δ c |" in out
    assert "| arithmetic/lora/eval_held_out/exact_sum_rate | 0.5 | 1 | 0.5 | +0.5 | 0 |" in out

    done = run_compare(a, b, "--format", "csv")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "section,name,a,b,Δ b"
    assert f"setting,{LR},0.0001,0.0003," in lines
    assert "metric,arithmetic/lora/eval_held_out/exact_sum_rate,0.5,1.0,0.5" in lines


def test_the_compare_command_refuses_what_is_not_a_results_folder(tmp_path, base):
    a = results_folder(tmp_path / "a", forgetting_a=0.2, learning_b=0.5, exact=2, functional=1, config=base)
    (tmp_path / "empty").mkdir()
    done = run_compare(a, tmp_path / "empty")
    assert done.returncode == 2 and "neither run.json nor any experiment's metrics" in done.stderr
    done = run_compare(a)
    assert done.returncode == 2 and "two results folders or more" in done.stderr


def test_markdown_table_escapes_and_marks_missing_figures():
    frame = pd.DataFrame([{"a": "x|y", "b": None, "c": float("nan"), "d": 1 / 3, "e": [1, 2]}])
    assert markdown_table(frame).splitlines()[2] == "| x\\|y | n/a | n/a | 0.3333 | 1+2 |"


# --- the forgetting-learning frontier -------------------------------------------------


def test_frontier_points_measure_interpolation_as_strategies_are_measured():
    from lmtune.study.interpolation import frontier_points, strategy_points

    order = ["A", "B"]
    loss_matrix = [[5.0, 5.2], [4.0, 5.0], [4.6, 4.2]]  # base, after A, after B
    losses = {0.0: (4.0, 5.0), 0.25: (4.1, 4.8), 0.5: (4.3, 4.5), 0.75: (4.35, 4.4), 1.0: (4.6, 4.2)}
    evaluations = {alpha: {"A": {"eval_loss": a}, "B": {"eval_loss": b}} for alpha, (a, b) in losses.items()}
    points = frontier_points(evaluations, loss_matrix, order)
    assert [p["alpha"] for p in points] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert (points[0]["forgetting"], points[0]["learning"]) == (0.0, 0.0)  # α = 0 is the model after A
    # α = 1 is the model after B: the run's own forgetting and learning.
    assert points[-1]["forgetting"] == pytest.approx(0.6) and points[-1]["learning"] == pytest.approx(0.8)
    assert points[2]["forgetting"] == pytest.approx(0.3) and points[2]["learning"] == pytest.approx(0.5)
    assert [p["on_front"] for p in points] == [True, True, True, True, True]

    worse = {**evaluations, 0.6: {"A": {"eval_loss": 4.5}, "B": {"eval_loss": 4.6}}}  # forgets more, learns less than α=0.5
    assert [p["on_front"] for p in frontier_points(worse, loss_matrix, order) if p["alpha"] in (0.5, 0.6)] == [True, False]

    summary = continual_summary(forgetting_a=0.6, learning_b=0.8)
    point = strategy_points(summary)["sequential"]
    assert point["forgetting"] == pytest.approx(0.61) and point["learning"] == pytest.approx(0.81)


def test_frontier_figure_holds_strategies_and_curves(tmp_path):
    from lmtune.study.interpolation import frontier_points, strategy_points
    from lmtune.study.plots import plot_frontier

    loss_matrix = [[5.0, 5.2], [4.0, 5.0], [4.6, 4.2]]
    evaluations = {alpha: {"A": {"eval_loss": 4.0 + 0.6 * alpha}, "B": {"eval_loss": 5.0 - 0.8 * alpha}} for alpha in (0, 0.5, 1)}
    curves = {"after A → after B": frontier_points(evaluations, loss_matrix, ["A", "B"])}
    plot_frontier(strategy_points(continual_summary(0.6, 0.8)), curves, ["A", "B"], tmp_path / "frontier.png")
    assert (tmp_path / "frontier.png").stat().st_size > 5000
