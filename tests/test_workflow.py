"""The real workflow, end to end, on the tiny setting (`.test/config.yaml`): all three
experiments on tiny random models with real tokenizers."""

import json
import math
import shutil

import pandas as pd
import pytest
import yaml

from lmtune.core.blocks import load_blocks, predicted_tokens
from lmtune.core.splits import Split
from lmtune.continual.corpus import read_corpus, split_paragraphs
from lmtune.core.jsonl import read_jsonl

from conftest import REPO, clone_run, planned_jobs, run_snakemake, write_config

SEED_KEYS = ["base_A", "base_B", "after_A_A", "after_A_B", "after_B_A", "after_B_B"]


@pytest.fixture
def workdir(tiny_run):
    return tiny_run


STRATEGIES = ["sequential", "ewc"]
SEEDS = [0, 1]
# Added to a copy of the tiny run, on seed 0 alone (new_strategies_run).
NEW_STRATEGIES = {
    "replay": {"method": "replay", "fraction": 0.25},
    "l2sp": {"method": "l2sp", "weight": 100.0},
    "lora": {"method": "lora", "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["k_proj", "v_proj", "o_proj"],
             "training": {"learning_rate": 1.0e-3}},
}
RUN = "results/continual/sequential/seed0"
pytestmark = pytest.mark.slow  # every test here reads the tiny run (minutes)


def read_metrics(workdir, strategy="sequential", seed=0):
    return json.loads((workdir / f"results/continual/{strategy}/seed{seed}/metrics.json").read_text())


def check_seed_metrics(workdir, strategy, seed):
    metrics = read_metrics(workdir, strategy, seed)
    for key in SEED_KEYS:
        record = metrics[key]
        assert math.isfinite(record["eval_loss"]) and record["eval_loss"] > 0
        assert record["eval_perplexity"] == pytest.approx(math.exp(record["eval_loss"]), rel=1e-12)
    for domain in "AB":
        blocks = load_blocks(workdir / f"results/continual/tokens/{domain}/test", 32)
        expected = predicted_tokens(blocks)
        assert {metrics[f"{stage}_{domain}"]["eval_tokens"] for stage in ["base", "after_A", "after_B"]} == {expected}
    assert metrics["forgetting_A"] == pytest.approx(metrics["after_B_A"]["eval_loss"] - metrics["after_A_A"]["eval_loss"])
    assert metrics["learning_B"] == pytest.approx(metrics["after_A_B"]["eval_loss"] - metrics["after_B_B"]["eval_loss"])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_metrics_hold_the_seed_keys_with_consistent_figures(workdir, strategy, seed):
    check_seed_metrics(workdir, strategy, seed)


def test_training_changes_the_model_and_the_splits_are_disjoint(workdir):
    metrics = read_metrics(workdir)
    assert metrics["after_A_A"]["eval_loss"] != metrics["base_A"]["eval_loss"]
    assert metrics["after_B_B"]["eval_loss"] != metrics["after_A_B"]["eval_loss"]
    # Another seed trains another model from the same data and base evaluation.
    other = read_metrics(workdir, seed=1)
    assert other["base_A"] == metrics["base_A"] and other["after_A_A"] != metrics["after_A_A"]
    config = yaml.safe_load((workdir / "config.yaml").read_text())["continual"]
    for domain in "AB":
        split = Split.read(workdir / "results/continual/data" / domain / "split.json")
        train, test = list(split.side_documents("train", workdir)), list(split.side_documents("test", workdir))
        corpus = split_paragraphs(read_corpus(config["domains"][domain]["corpus"]))
        assert sorted(train + test) == sorted(corpus) and not set(train) & set(test)
        assert len(test) == round(len(corpus) * config["split"]["test_fraction"])


def test_outputs_logs_and_benchmarks_are_written(workdir):
    for name in ["loss_matrix", "forgetting_vs_learning", "perplexity", "train_loss"]:
        assert (workdir / f"results/continual/{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    loss_log = (workdir / RUN / "A/train_loss.csv").read_text().splitlines()
    assert loss_log[0] == "step,epoch,loss,learning_rate" and len(loss_log) == 3
    assert (workdir / "results/benchmarks/train_phase/sequential/seed0/B.tsv").exists()
    assert not list(workdir.glob("results/continual/checkpoints/**/checkpoint-*")), "checkpoints are removed once a phase's model is written"
    # A local model folder is used in place: nothing is materialised.
    assert not (workdir / "resources/models").exists()


def test_arithmetic_generations_are_parsed_and_scored(workdir):
    from lmtune.arithmetic.scoring import REASONS, parse_answer

    metrics = json.loads((workdir / "results/arithmetic/metrics.json").read_text())
    addend_range = yaml.safe_load((workdir / "config.yaml").read_text())["arithmetic"]["data"]["addend_range"]
    sizes = {"eval_seen": 8, "eval_held_out": 3, "eval_ood": 4}
    for variant in ["base", "lora"]:
        generations = read_jsonl(workdir / f"results/arithmetic/generations/{variant}.jsonl")
        records = read_jsonl(workdir / f"results/arithmetic/scored/{variant}.jsonl")
        assert [r["output"] for r in records] == [g["output"] for g in generations]
        assert {r["set"]: sum(x["set"] == r["set"] for x in records) for r in records} == sizes
        for record in records:
            parsed = parse_answer(record["output"], addend_range)
            assert (record["reason"], record["parsed_sum"]) == (parsed.reason, parsed.total)
            assert record["exact"] == (parsed.well_formed and parsed.total == record["target"])
            if record["parsed_sum"] is not None:
                assert record["error"] == abs(record["parsed_sum"] - record["target"])
        for eval_set, size in sizes.items():
            figures = metrics[variant][eval_set]
            in_set = [r for r in records if r["set"] == eval_set]
            assert figures["prompts"] == size
            assert figures["parsable"] == sum(r["parsed_sum"] is not None for r in in_set)
            assert figures["reasons"] == {reason: sum(r["reason"] == reason for r in in_set) for reason in REASONS}
            assert figures["exact_sum_rate"] == sum(r["exact"] for r in in_set) / size
    # The prompts of the held-out set were never trained on.
    train = {r["prompt"] for r in read_jsonl(workdir / "results/arithmetic/data/train.jsonl")}
    assert not train & {r["prompt"] for r in read_jsonl(workdir / "results/arithmetic/data/eval_held_out.jsonl")}
    assert (workdir / "results/arithmetic/error_by_target.png").read_bytes()[:4] == b"\x89PNG"


def test_the_qlora_adapter_saves_and_loads_back(workdir):
    from lmtune.core.adapters import load_for_inference

    adapter = workdir / "results/arithmetic/adapter"
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"], config["lora_dropout"]) == (8, 16, 0.1)
    assert sorted(config["target_modules"]) == ["k_proj", "o_proj", "v_proj"]
    source = yaml.safe_load((workdir / "config.yaml").read_text())["base_model"]["source"]
    model = load_for_inference(source, "cpu", "fp32", adapter=adapter, quantize_4bit=True)
    assert "Linear4bit" in {type(m).__name__ for m in model.modules()}
    lora_b = [p for name, p in model.named_parameters() if "lora_B" in name]
    assert lora_b and any(float(p.abs().sum()) > 0 for p in lora_b), "training moved the adapter off its zero init"


def check_java_outputs(workdir, variants):
    metrics = json.loads((workdir / "results/java/metrics.json").read_text())
    assert list(metrics["generation"]) == variants
    for variant in variants:
        records = read_jsonl(workdir / f"results/java/scored/{variant}.jsonl")
        generations = read_jsonl(workdir / f"results/java/generations/{variant}.jsonl")
        assert [r["generated"] for r in records] == [g["generated"] for g in generations]
        assert [r["split"] for r in records] == ["test"] * 3 + ["test_unseen_words"] * 3
        for split in ["test", "test_unseen_words"]:
            rows = [r for r in records if r["split"] == split]
            figures = metrics["generation"][variant][split]
            assert figures["exact_match"] == sum(r["exact_match"] for r in rows) / 3
            # javac and the harness ran on every generation: real verdicts, never "not measured".
            for measure, field in [("syntax_rate", "compiles"), ("signature_rate", "signature"), ("functional_accuracy", "functional")]:
                assert all(isinstance(r[field], bool) for r in rows)
                assert figures[measure] == sum(r[field] for r in rows) / 3
            assert sum(figures["reasons"].values()) == 3
            assert sum(f["instructions"] for f in figures["families"].values()) == 3
            for r in rows:
                assert r["exact_match"] == (r["generated"].split() == r["reference"].split())
                assert r["compiles"] >= r["signature"] >= r["functional"]
    for name in ["base", "stage1"]:
        lm = metrics["heldout_lm"][name]
        assert lm["eval_perplexity"] == pytest.approx(math.exp(lm["eval_loss"]))
    assert metrics["heldout_lm"]["base"]["eval_tokens"] == metrics["heldout_lm"]["stage1"]["eval_tokens"]
    assert metrics["heldout_lm"]["base"]["eval_loss"] != metrics["heldout_lm"]["stage1"]["eval_loss"]
    table = (workdir / "results/java/examples.md").read_text()
    assert "## test_unseen_words" in table and all(v in table for v in variants)
    assert (workdir / "results/java/accuracy.png").read_bytes()[:4] == b"\x89PNG"


def test_java_stages_are_generated_compiled_and_scored(workdir):
    check_java_outputs(workdir, ["base", "stage1", "stage2_first", "stage2_improved"])
    loss_log = (workdir / "results/java/stage2/improved/train_loss.csv").read_text().splitlines()
    assert len(loss_log) == 3  # header and two steps


def test_strategies_share_the_first_phase_and_differ_after_it(workdir):
    sequential = read_metrics(workdir)
    for strategy in ["ewc"]:
        metrics = read_metrics(workdir, strategy)
        # Nothing to replay or hold on to in phase A: it is sequential's, trained once.
        assert not (workdir / f"results/continual/{strategy}/seed0/A").exists()
        assert metrics["after_A_A"] == sequential["after_A_A"] and metrics["base_B"] == sequential["base_B"]
        assert metrics["after_B_B"] != sequential["after_B_B"]
    logs = workdir / "results/logs/train_phase"
    assert "ewc: diagonal Fisher from 2 blocks" in (logs / "ewc/seed0/B.log").read_text()


def test_the_summary_and_loss_matrix_tables_agree_with_the_runs(workdir):
    from statistics import fmean, stdev

    summary = json.loads((workdir / "results/continual/summary.json").read_text())
    assert sorted(summary["strategies"]) == sorted(STRATEGIES)
    for strategy in STRATEGIES:
        runs = [read_metrics(workdir, strategy, seed) for seed in SEEDS]
        figures = summary["strategies"][strategy]
        assert figures["seeds"] == SEEDS
        forgetting = [metrics["forgetting_A"] for metrics in runs]
        assert figures["measures"]["forgetting_A"]["mean"] == pytest.approx(fmean(forgetting))
        assert figures["measures"]["forgetting_A"]["std"] == pytest.approx(stdev(forgetting))
        assert figures["measures"]["learning_B"]["mean"] == pytest.approx(fmean(m["learning_B"] for m in runs))
        matrices = [metrics["continual"]["loss_matrix"] for metrics in runs]
        expected = [[fmean(cells) for cells in zip(*rows)] for rows in zip(*matrices)]
        assert [cell for row in figures["loss_matrix_mean"] for cell in row] == pytest.approx(
            [cell for row in expected for cell in row]
        )
        for seed, metrics in zip(SEEDS, runs):
            matrix = pd.read_csv(workdir / f"results/continual/{strategy}/seed{seed}/loss_matrix.csv")
            assert list(matrix["stage"]) == ["base", "base", "after_A", "after_A", "after_B", "after_B"]
            assert matrix["loss"].tolist() == [metrics[f"{stage}_{domain}"]["eval_loss"] for stage, domain in zip(matrix["stage"], matrix["domain"])]
    table = pd.read_csv(workdir / "results/continual/summary.csv")
    assert sorted(table["strategy"]) == sorted(STRATEGIES) and "forgetting_A_mean" in table


def test_the_cross_matrix_evaluates_every_final_model_on_every_held_out_set(workdir):
    table = pd.read_csv(workdir / "results/cross/matrix.csv")
    # Two base models: the tiny Llama (continual, arithmetic) and the tiny GPT-2 (Java).
    models = ["base", "base_java", "continual_sequential_seed0_A", "continual_sequential_seed0_B", "arithmetic_lora",
              "java_stage1", "java_stage2_first", "java_stage2_improved"]
    sets = ["continual_A", "continual_B", "arithmetic_held_out", "java_held_out"]
    assert sorted(table["model"].unique()) == sorted(models) and sorted(table["set"].unique()) == sorted(sets)
    assert len(table) == len(models) * len(sets)
    assert (table[table["model"].isin(["base", "base_java"])]["loss_change_vs_base"] == 0).all()
    cell = table.set_index(["model", "set"])
    # The same model on the same blocks as the experiments' own evaluations: the same loss.
    sequential = read_metrics(workdir)
    assert cell.loc[("continual_sequential_seed0_A", "continual_A"), "loss"] == pytest.approx(sequential["after_A_A"]["eval_loss"], rel=1e-6)
    assert cell.loc[("base", "continual_B"), "loss"] == pytest.approx(sequential["base_B"]["eval_loss"], rel=1e-6)
    java = json.loads((workdir / "results/java/metrics.json").read_text())["heldout_lm"]
    assert cell.loc[("java_stage1", "java_held_out"), "loss"] == pytest.approx(java["stage1"]["eval_loss"], rel=1e-6)
    # The held-out arithmetic prompts are scored on their reference answers, prompt masked.
    assert 0 < cell.loc[("arithmetic_lora", "arithmetic_held_out"), "tokens"] < cell.loc[("base", "java_held_out"), "tokens"]
    assert (workdir / "results/cross/matrix.png").read_bytes()[:4] == b"\x89PNG"


def test_a_new_seed_adds_only_its_own_jobs(tiny_run, tmp_path):
    workdir = clone_run(tiny_run, tmp_path / "run")
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["continual"]["seeds"] = [0, 1, 2]
    write_config(workdir, config)
    # Seed 2: sequential A and B, the B phase of EWC; the summary's figures, the
    # frontier's strategy points and the run record follow.
    assert planned_jobs(run_snakemake(workdir, "-n").stdout) == {
        "train_phase": 3, "evaluate_continual_model": 3, "collect_metrics": 2,
        "summarise_strategies": 1, "plot_continual": 1, "plot_frontier": 1, "record_run": 1, "all": 1,
    }


@pytest.fixture(scope="module")
def new_strategies_run(tiny_run, tmp_path_factory):
    """A copy of the tiny run with NEW_STRATEGIES added, on one seed (dropping seed 1
    reruns nothing of it: its results stay), tracked with TensorBoard, run to the end. The folder, the jobs its
    dry run planned, and which of the tiny run's metrics files the run rewrote."""
    workdir = clone_run(tiny_run, tmp_path_factory.mktemp("new-strategies") / "run")
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["continual"]["strategies"].update(NEW_STRATEGIES)
    config["continual"]["seeds"] = [0]
    config["tracking"] = "tensorboard"  # no setting of a run: it reruns nothing
    write_config(workdir, config)
    planned = planned_jobs(run_snakemake(workdir, "-n").stdout)
    untouched = [workdir / f"results/continual/{s}/seed{seed}/metrics.json" for s in STRATEGIES for seed in SEEDS]
    mtimes = {path: path.stat().st_mtime_ns for path in untouched}
    run_snakemake(workdir)
    rewritten = [str(path) for path in untouched if path.stat().st_mtime_ns != mtimes[path]]
    return workdir, planned, rewritten


def test_new_strategies_run_only_their_own_jobs(new_strategies_run):
    workdir, planned, rewritten = new_strategies_run
    # Replay and L2-SP: phase B (phase A is sequential's) and its evaluation; LoRA: both
    # phases, on its adapter, and their evaluations.
    assert planned == {
        "train_phase": 4, "evaluate_continual_model": 4, "collect_metrics": 3,
        "summarise_strategies": 1, "plot_continual": 1, "plot_frontier": 1, "record_run": 1, "all": 1,
    }
    assert not rewritten
    summary = json.loads((workdir / "results/continual/summary.json").read_text())
    assert sorted(summary["strategies"]) == sorted([*STRATEGIES, *NEW_STRATEGIES])
    assert "Nothing to be done" in run_snakemake(workdir, "-n").stdout
    # Every training wrote TensorBoard event files under the top results folder.
    for run in ["replay/seed0/B", "l2sp/seed0/B", "lora/seed0/A", "lora/seed0/B"]:
        assert list((workdir / "results/tensorboard/continual" / run).glob("events.out.tfevents.*")), run


@pytest.mark.parametrize("strategy", NEW_STRATEGIES)
def test_new_strategies_metrics_hold_the_seed_keys_with_consistent_figures(new_strategies_run, strategy):
    check_seed_metrics(new_strategies_run[0], strategy, seed=0)


def test_new_strategies_share_the_first_phase_where_they_do_not_change_it(new_strategies_run):
    workdir = new_strategies_run[0]
    sequential = read_metrics(workdir)
    for strategy in ["replay", "l2sp"]:
        metrics = read_metrics(workdir, strategy)
        assert not (workdir / f"results/continual/{strategy}/seed0/A").exists()
        assert metrics["after_A_A"] == sequential["after_A_A"] and metrics["after_B_B"] != sequential["after_B_B"]
    assert "replay: " in (workdir / "results/logs/train_phase/replay/seed0/B.log").read_text()
    # LoRA trains both phases on its adapter and writes plain models, the adapter merged.
    lora = read_metrics(workdir, "lora")
    assert lora["after_A_A"] != sequential["after_A_A"] and lora["base_B"] == sequential["base_B"]
    for phase in "AB":
        merged = workdir / f"results/continual/lora/seed0/{phase}/model"
        assert (merged / "model.safetensors").exists() and not (merged / "adapter_config.json").exists()


def test_a_change_of_library_code_reruns_exactly_the_jobs_that_run_it(tiny_run, tmp_path):
    workdir = clone_run(tiny_run, tmp_path / "run")
    code = tmp_path / "code"  # this checkout's workflow, to change
    code.mkdir()
    shutil.copy2(REPO / "Snakefile", code / "Snakefile")
    for folder in ("workflow", "src", "profiles"):
        shutil.copytree(REPO / folder, code / folder, ignore=shutil.ignore_patterns("__pycache__"))
    plots = code / "src/lmtune/java/plots.py"  # run by the Java scoring alone

    # The run record names the checkout it was made with: it alone follows a move.
    moved = {"record_run": 1, "all": 1}
    plots.write_text(plots.read_text() + "\n# A comment changes no result.\n")
    assert planned_jobs(run_snakemake(workdir, "-n", snakefile=code / "Snakefile").stdout) == moved
    plots.write_text(plots.read_text() + "\nFIGURE_DPI = 100\n")
    planned = run_snakemake(workdir, "-n", snakefile=code / "Snakefile").stdout
    # pass@k is computed from the scored generations score_java writes again.
    assert planned_jobs(planned) == {"score_java": 1, "java_pass_at_k": 1, **moved}


def test_a_finished_run_has_nothing_to_do(workdir):
    assert "Nothing to be done" in run_snakemake(workdir, "-n").stdout


def test_changing_a_phase_b_setting_reruns_only_phase_b_and_its_dependents(tiny_run, tmp_path):
    workdir = clone_run(tiny_run, tmp_path / "run")
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    # One strategy and one seed keep the rerun short; dropping the others reruns only the
    # summary.
    config["continual"]["strategies"] = {"sequential": {"method": "sequential"}}
    config["continual"]["seeds"] = [0]
    untouched = [
        *workdir.glob("results/continual/tokens/*/*/data-*.arrow"),
        *workdir.glob("results/continual/base/eval/*.json"),
        *workdir.glob(f"{RUN}/A/eval/*.json"),
        workdir / RUN / "A/model/model.safetensors",
    ]
    rerun = [
        workdir / RUN / "B/model/model.safetensors",
        *workdir.glob(f"{RUN}/B/eval/*.json"),
        workdir / RUN / "metrics.json",
        workdir / "results/continual/summary.json",
    ]
    mtimes = {path: path.stat().st_mtime_ns for path in untouched + rerun}
    before = read_metrics(workdir)

    config["continual"]["phases"]["B"]["learning_rate"] = 3.0e-4
    write_config(workdir, config)

    # Phase B; its model is also a row of the cross-experiment matrix and the end of both
    # interpolation curves (1 alpha each: 2 models, evaluated).
    assert planned_jobs(run_snakemake(workdir, "-n").stdout) == {
        "train_phase": 1, "evaluate_continual_model": 3, "collect_metrics": 1, "summarise_strategies": 1,
        "plot_continual": 1, "cross_evaluate": 1, "cross_matrix": 1, "interpolate_weights": 2, "plot_frontier": 1,
        "record_run": 1, "all": 1,
    }
    run_snakemake(workdir)
    assert all(path.stat().st_mtime_ns == mtimes[path] for path in untouched)
    assert all(path.stat().st_mtime_ns > mtimes[path] for path in rerun)
    after = read_metrics(workdir)
    assert after["after_A_A"] == before["after_A_A"] and after["base_B"] == before["base_B"]
    assert after["after_B_B"] != before["after_B_B"]
    assert "Nothing to be done" in run_snakemake(workdir, "-n").stdout
    # The source run is untouched by its clone's rerun.
    assert read_metrics(tiny_run) == before
