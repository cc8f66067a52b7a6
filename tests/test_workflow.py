"""The real workflow, end to end, on a tiny configuration with the bundled pretrained model."""

import json
import math

import pytest
import yaml

from lmtune.blocks import load_blocks, predicted_tokens
from lmtune.corpus import split_paragraphs
from lmtune.jsonl import read_jsonl

from conftest import clone_run, planned_jobs, run_snakemake, write_config

SEED_KEYS = ["base_A", "base_B", "after_A_A", "after_A_B", "after_B_A", "after_B_B"]


@pytest.fixture
def workdir(tiny_run):
    return tiny_run


def read_metrics(workdir):
    return json.loads((workdir / "results/continual/metrics.json").read_text())


def test_metrics_hold_the_seed_keys_with_consistent_figures(workdir):
    metrics = read_metrics(workdir)
    for key in SEED_KEYS:
        record = metrics[key]
        assert math.isfinite(record["eval_loss"]) and record["eval_loss"] > 0
        assert record["eval_perplexity"] == pytest.approx(math.exp(record["eval_loss"]), rel=1e-12)
    for domain in "AB":
        blocks = load_blocks(workdir / f"results/continual/tokens/{domain}/test_block32")
        expected = predicted_tokens(blocks)
        assert {metrics[f"{stage}_{domain}"]["eval_tokens"] for stage in ["base", "after_A", "after_B"]} == {expected}
    assert metrics["forgetting_A"] == pytest.approx(metrics["after_B_A"]["eval_loss"] - metrics["after_A_A"]["eval_loss"])
    assert metrics["gain_B"] == pytest.approx(metrics["after_A_B"]["eval_loss"] - metrics["after_B_B"]["eval_loss"])


def test_training_changes_the_model_and_the_splits_are_disjoint(workdir):
    metrics = read_metrics(workdir)
    assert metrics["after_A_A"]["eval_loss"] != metrics["base_A"]["eval_loss"]
    assert metrics["after_B_B"]["eval_loss"] != metrics["after_A_B"]["eval_loss"]
    for domain in "AB":
        data = workdir / "results/continual/data" / domain
        train = set(split_paragraphs((data / "train.txt").read_text()))
        test = set(split_paragraphs((data / "test.txt").read_text()))
        assert len(train) == 4 and len(test) == 2 and not train & test


def test_outputs_logs_and_benchmarks_are_written(workdir):
    for name in ["perplexity.png", "train_loss.png"]:
        assert (workdir / "results/continual" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    loss_log = (workdir / "results/continual/phases/A/train_loss.csv").read_text().splitlines()
    assert loss_log[0] == "step,epoch,loss,learning_rate" and len(loss_log) == 2
    assert (workdir / "results/benchmarks/train_phase/B.tsv").exists()
    assert "materialising" in (workdir / "results/logs/prepare_base_model/SmolLM2-135M-Instruct.Q4_1.log").read_text()
    assert (workdir / "resources/models/SmolLM2-135M-Instruct.Q4_1/model.safetensors").exists()


def test_arithmetic_generations_are_parsed_and_scored(workdir):
    from lmtune.arithmetic import parse_answer

    metrics = json.loads((workdir / "results/arithmetic/metrics.json").read_text())
    sizes = {"eval_seen": 8, "eval_held_out": 3, "eval_ood": 4}
    for variant in ["base", "lora"]:
        records = read_jsonl(workdir / f"results/arithmetic/generations/{variant}.jsonl")
        assert {r["set"]: sum(x["set"] == r["set"] for x in records) for r in records} == sizes
        for record in records:
            parsed = parse_answer(record["output"])
            assert record["parsed_sum"] == parsed.total and record["well_formed"] == parsed.well_formed
            if record["parsed_sum"] is not None:
                assert record["error"] == abs(record["parsed_sum"] - record["target"])
        for eval_set, size in sizes.items():
            figures = metrics[variant][eval_set]
            assert figures["prompts"] == size
            assert figures["unparsable"] == sum(r["parsed_sum"] is None for r in records if r["set"] == eval_set)
            in_set = [r for r in records if r["set"] == eval_set]
            assert figures["exact_sum_rate"] == sum(r["error"] == 0 for r in in_set) / size
    # The prompts of the held-out set were never trained on.
    train = {r["prompt"] for r in read_jsonl(workdir / "results/arithmetic/data/train.jsonl")}
    assert not train & {r["prompt"] for r in read_jsonl(workdir / "results/arithmetic/data/eval_held_out.jsonl")}
    assert (workdir / "results/arithmetic/error_by_target.png").read_bytes()[:4] == b"\x89PNG"


def test_the_qlora_adapter_saves_and_loads_back(workdir):
    from peft import PeftModel

    from lmtune.lora import load_base

    adapter = workdir / "results/arithmetic/adapter"
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"], config["lora_dropout"]) == (8, 16, 0.1)
    assert sorted(config["target_modules"]) == ["k_proj", "o_proj", "v_proj"]
    base = load_base(workdir / "resources/models/SmolLM2-135M-Instruct.Q4_1", "cpu", "fp32", quantize_4bit=True)
    assert "Linear4bit" in {type(m).__name__ for m in base.modules()}
    model = PeftModel.from_pretrained(base, str(adapter))
    lora_b = [p for name, p in model.named_parameters() if "lora_B" in name]
    assert lora_b and any(float(p.abs().sum()) > 0 for p in lora_b), "training moved the adapter off its zero init"


def check_java_outputs(workdir, variants):
    metrics = json.loads((workdir / "results/java/metrics.json").read_text())
    assert list(metrics["generation"]) == variants
    for variant in variants:
        records = read_jsonl(workdir / f"results/java/generations/{variant}.jsonl")
        assert [r["split"] for r in records] == ["test"] * 3 + ["test_unseen_words"] * 3
        for split in ["test", "test_unseen_words"]:
            rows = [r for r in records if r["split"] == split]
            figures = metrics["generation"][variant][split]
            assert figures["exact_match"] == sum(r["exact_match"] for r in rows) / 3
            # javac ran on every generation: a real verdict, never "not measured".
            assert all(isinstance(r["compiles"], bool) for r in rows)
            assert figures["compile_rate"] == sum(r["compiles"] for r in rows) / 3
            for r in rows:
                assert r["exact_match"] == (r["generated"].split() == r["reference"].split())
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


def test_a_finished_run_has_nothing_to_do(workdir):
    assert "Nothing to be done" in run_snakemake(workdir, "-n").stdout


def test_changing_a_phase_b_setting_reruns_only_phase_b_and_its_dependents(tiny_run, tmp_path):
    workdir = clone_run(tiny_run, tmp_path / "run")
    untouched = [
        *workdir.glob("results/continual/tokens/*/*/data-*.arrow"),
        *workdir.glob("results/continual/eval/base/*.json"),
        *workdir.glob("results/continual/eval/after_A/*.json"),
        workdir / "results/continual/phases/A/model/model.safetensors",
    ]
    rerun = [
        workdir / "results/continual/phases/B/model/model.safetensors",
        *workdir.glob("results/continual/eval/after_B/*.json"),
        workdir / "results/continual/metrics.json",
    ]
    mtimes = {path: path.stat().st_mtime_ns for path in untouched + rerun}
    before = read_metrics(workdir)

    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["continual"]["phases"]["B"]["learning_rate"] = 3.0e-4
    write_config(workdir, config)

    assert planned_jobs(run_snakemake(workdir, "-n").stdout) == {
        "train_phase": 1, "evaluate_stage": 2, "collect_metrics": 1,
        "plot_perplexity": 1, "plot_training_loss": 1, "all": 1,
    }
    run_snakemake(workdir)
    assert all(path.stat().st_mtime_ns == mtimes[path] for path in untouched)
    assert all(path.stat().st_mtime_ns > mtimes[path] for path in rerun)
    after = read_metrics(workdir)
    assert after["after_A_A"] == before["after_A_A"] and after["base_B"] == before["base_B"]
    assert after["after_B_B"] != before["after_B_B"]
    assert "Nothing to be done" in run_snakemake(workdir, "-n").stdout
