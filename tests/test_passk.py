"""pass@k for the Java code: the estimator, nucleus sampling drawn reproducibly, the
settings checked at load, and the workflow with n samples per task (its figures computed
here again from the scored samples), beside the greedy default."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import pytest

from conftest import clone_run, planned_jobs, run_snakemake, tiny_config, write_config
from lmtune.core.jsonl import read_jsonl
from lmtune.java.javac import find_jdk
from lmtune.java.passk import pass_at_k, pass_at_k_figures

needs_jdk = pytest.mark.skipif(find_jdk() is None, reason="no JDK on this machine")


def comb_pass_at_k(n: int, c: int, k: int) -> Fraction:
    """1 - C(n-c, k) / C(n, k) in exact arithmetic (math.comb is 0 where n-c < k)."""
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


@pytest.mark.parametrize(
    "n, c, k, expected",
    [
        (1, 0, 1, 0.0), (1, 1, 1, 1.0), (2, 1, 1, 0.5), (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (10, 1, 5, 0.5), (10, 0, 10, 0.0), (10, 9, 2, 1.0), (4, 1, 2, 0.5), (20, 3, 1, 0.15),
    ],
)
def test_the_estimator_gives_known_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_the_estimator_is_the_binomial_ratio_for_every_n_c_k_and_exact_for_large_n():
    for n in range(1, 16):
        for c in range(n + 1):
            for k in range(1, n + 1):
                assert pass_at_k(n, c, k) == pytest.approx(float(comb_pass_at_k(n, c, k)), abs=1e-12), (n, c, k)
    # C(2000, 1000) is far beyond a float; the product form stays exact.
    with pytest.raises(OverflowError):
        float(math.comb(2000, 1000))
    assert pass_at_k(2000, 7, 1000) == pytest.approx(float(comb_pass_at_k(2000, 7, 1000)), rel=1e-12)
    assert pass_at_k(200, 1, 100) == pytest.approx(0.5, rel=1e-12)
    with pytest.raises(ValueError, match="k <= n"):
        pass_at_k(3, 1, 4)


def scored(split: str, instruction: str, verdicts: list[bool | None]) -> list[dict]:
    return [{"split": split, "instruction": instruction, "functional": v,
             "reason": "ok" if v else ("not_measured" if v is None else "wrong_output")} for v in verdicts]


def test_figures_group_samples_by_task_with_the_spread_over_tasks():
    records = [
        *scored("test", "a", [True, False, False, False]), *scored("test", "b", [True, True, False, True]),
        *scored("test", "c", [False] * 4), *scored("other", "d", [None] * 4),
    ]
    figures = pass_at_k_figures(records, [1, 2, 4])
    test = figures["test"]
    assert (test["tasks"], test["samples_per_task"]) == (3, 4)
    assert test["pass_at_k"]["pass@1"] == pytest.approx((1 / 4 + 3 / 4 + 0) / 3)
    assert test["pass_at_k"]["pass@2"] == pytest.approx((comb_pass_at_k(4, 1, 2) + comb_pass_at_k(4, 3, 2)) / 3)
    assert test["pass_at_k"]["pass@4"] == pytest.approx(2 / 3)
    per_task = [0.25, 0.75, 0.0]
    mean = sum(per_task) / 3
    assert test["pass@1_standard_error"] == pytest.approx(math.sqrt(sum((p - mean) ** 2 for p in per_task) / 2 / 3))
    assert test["reasons"] == {"ok": 4, "wrong_output": 8}
    # Not measured (no JDK or sandbox) is never a zero.
    assert figures["other"]["pass_at_k"] == {"pass@1": None, "pass@2": None, "pass@4": None}
    assert figures["other"]["pass@1_standard_error"] is None


def test_the_nucleus_keeps_the_most_likely_tokens_up_to_top_p():
    import torch

    from lmtune.core.generation import nucleus

    probabilities = torch.tensor([[0.15, 0.5, 0.05, 0.3], [0.1, 0.4, 0.2, 0.3]], dtype=torch.float64)
    assert nucleus(probabilities, 0.65).tolist() == [[0.0, 0.5, 0.0, 0.3], [0.0, 0.4, 0.0, 0.3]]
    assert nucleus(probabilities, 0.35).tolist() == [[0.0, 0.5, 0.0, 0.0], [0.0, 0.4, 0.0, 0.0]]
    assert nucleus(probabilities, 1.0).tolist() == probabilities.tolist()
    # Against the definition on a whole sorted vocabulary, peaked and flat rows together
    # (a flat row's nucleus holds thousands of tokens).
    generator = torch.Generator().manual_seed(0)
    scales = torch.tensor([[8.0], [4.0], [2.0], [1.0], [0.1], [0.01]], dtype=torch.float64)
    logits = torch.randn(6, 5000, generator=generator, dtype=torch.float64) * scales
    for top_p in (0.05, 0.5, 0.9, 0.999):
        probabilities = torch.softmax(logits, dim=-1)
        ordered, order = probabilities.sort(dim=-1, descending=True)
        kept = ordered.masked_fill(ordered.cumsum(-1) - ordered >= top_p, 0.0)
        expected = torch.zeros_like(probabilities).scatter(-1, order, kept)
        assert torch.equal(nucleus(probabilities, top_p), expected), top_p
        assert (nucleus(probabilities, top_p).sum(-1) >= top_p - 1e-12).all()


def test_draws_follow_the_distribution_within_the_nucleus():
    import collections

    import torch

    from lmtune.core.generation import Sampler, Sampling

    logits = torch.log(torch.tensor([[0.2, 0.5, 0.3, 0.0]]))
    for top_p, expected in [(1.0, [0.2, 0.5, 0.3, 0.0]), (0.6, [0.0, 0.625, 0.375, 0.0]), (0.3, [0.0, 1.0, 0.0, 0.0])]:
        sampler = Sampler(Sampling(1.0, top_p, 0), [11], torch.device("cpu"))
        counts = collections.Counter(int(sampler(logits, [0])) for _ in range(4000))
        for token, share in enumerate(expected):
            assert counts[token] / 4000 == pytest.approx(share, abs=0.03), (top_p, counts)
    # Temperature sharpens: at 0.25 the likeliest of 0.5 against 0.3 wins (5/3)**4, 88% of draws.
    sampler = Sampler(Sampling(0.25, 1.0, 0), [11], torch.device("cpu"))
    counts = collections.Counter(int(sampler(logits, [0])) for _ in range(4000))
    weights = [0.2**4, 0.5**4, 0.3**4]
    assert counts[1] / 4000 == pytest.approx(weights[1] / sum(weights), abs=0.03)


def test_sampling_is_drawn_again_the_same_and_a_vanishing_nucleus_is_greedy(tiny_tokenizer, tiny_model_dir):
    import torch

    from lmtune.core.generation import Sampler, Sampling, generate_continuations, generate_tokens, row_seed
    from lmtune.core.models import load_model

    tokenizer, model = tiny_tokenizer, load_model(tiny_model_dir).eval()
    prompts = ["public int add", "hola return value { } más tres", "public int add"]

    def sample(temperature: float, top_p: float, seed: int = 0) -> list[str]:
        return generate_continuations(model, tokenizer, prompts, 12, 2, progress=False,
                                      sampling=Sampling(temperature, top_p, seed))

    drawn = sample(1.5, 1.0)
    assert drawn == sample(1.5, 1.0)  # reproducible
    assert drawn[0] != drawn[2]  # the same prompt twice: two samples, seeded apart
    assert drawn != sample(1.5, 1.0, seed=1)
    assert row_seed(0, prompts[0], 0) != row_seed(0, prompts[0], 1)
    # A nucleus smaller than any token's probability holds the most likely token alone.
    tokenizer.padding_side = "left"
    batch = tokenizer(prompts, add_special_tokens=False, return_tensors="pt", padding=True)
    with torch.no_grad():
        greedy = generate_tokens(model, batch["input_ids"], batch["attention_mask"], 12, None)
        sampler = Sampler(Sampling(1.0, 1e-9, 0), [1, 2, 3], torch.device("cpu"))
        narrow = generate_tokens(model, batch["input_ids"], batch["attention_mask"], 12, None, sampler=sampler)
    assert narrow == greedy


# --- the settings, checked when the workflow loads ---------------------------------------


def dry_run(workdir: Path, config: dict, *args: str):
    workdir.mkdir(parents=True, exist_ok=True)
    write_config(workdir, config)
    return run_snakemake(workdir, "-n", *args, check=False)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"samples": 5}, "java.generation.samples is 5, but temperature 0 is greedy decoding"),
        ({"top_p": 0.9}, "java.generation.top_p (0.9) applies only to sampling"),
        ({"samples": 4, "temperature": 0.8, "pass_at_k": [1, 5, 10]},
         "java.generation.pass_at_k: k = 5, 10 is above java.generation.samples (4); pass@k needs k <= n"),
        ({"pass_at_k": [2]}, "java.generation.pass_at_k: k = 2 is above java.generation.samples (1)"),
        ({"samples": 2, "temperature": 0.8, "top_p": 0}, "top_p"),
        ({"samples": 2, "temperature": 0.8, "top_p": 1.5}, "top_p"),
        ({"temperature": -0.5}, "temperature"),
        ({"samples": 0}, "samples"),
    ],
)
def test_bad_sampling_settings_stop_the_workflow_at_load_in_one_line(tmp_path, settings, message):
    config = tiny_config()
    config["java"]["generation"].update(settings)
    result = dry_run(tmp_path, config)
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if message in line]
    assert lines, result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


# --- the workflow: greedy by default, then n samples per task -------------------------------

JAVA_TARGETS = ["results/java/metrics.json", "results/java/pass_at_k.json", "results/java/examples.md"]
SAMPLED = {"samples": 3, "temperature": 0.8, "top_p": 0.95, "pass_at_k": [1, 2, 3]}


def java_config(**generation) -> dict:
    """The tiny setting's Java experiment alone."""
    config = tiny_config()
    config["experiments"] = ["java"]
    config["java"]["generation"].update(generation)
    return config


@pytest.fixture(scope="module")
def greedy_java_run(tiny_run, tmp_path_factory) -> Path:
    """The tiny run's Java experiment, run alone: its jobs are the tiny run's (the first
    assertion of test_sampling_settings_rerun_exactly_the_jobs_that_read_them says so)."""
    workdir = clone_run(tiny_run, tmp_path_factory.mktemp("greedy-java") / "run")
    write_config(workdir, java_config())
    return workdir


@pytest.fixture(scope="module")
def sampled_java_run(greedy_java_run, tmp_path_factory) -> Path:
    """The greedy run with the sampling settings changed: its models are reused."""
    workdir = clone_run(greedy_java_run, tmp_path_factory.mktemp("sampled") / "run")
    write_config(workdir, java_config(**SAMPLED))
    run_snakemake(workdir, *JAVA_TARGETS)
    return workdir


def planned(workdir: Path, config: dict) -> dict[str, int]:
    """The jobs a dry run of the Java targets plans with `config`, by rule."""
    result = dry_run(workdir, config, *JAVA_TARGETS)
    assert result.returncode == 0, result.stdout + result.stderr
    if "Job stats:" not in result.stdout:
        return {}
    return {rule: count for rule, count in planned_jobs(result.stdout).items() if rule != "total"}


@pytest.mark.slow
def test_sampling_settings_rerun_exactly_the_jobs_that_read_them(greedy_java_run, sampled_java_run, tmp_path):
    assert planned(clone_run(greedy_java_run, tmp_path / "same"), java_config()) == {}
    assert planned(clone_run(greedy_java_run, tmp_path / "sampled"), java_config(**SAMPLED)) == {
        "generate_java_code": 4, "score_java": 1, "java_pass_at_k": 1,
    }
    fewer_k = {**SAMPLED, "pass_at_k": [1, 3]}
    assert planned(clone_run(sampled_java_run, tmp_path / "k"), java_config(**fewer_k)) == {"java_pass_at_k": 1}


@pytest.mark.slow
def test_greedy_decoding_writes_one_answer_per_task_and_pass_at_1_is_its_accuracy(greedy_java_run):
    java = greedy_java_run / "results/java"
    metrics = json.loads((java / "metrics.json").read_text())
    report = json.loads((java / "pass_at_k.json").read_text())
    assert report["sampling"] == {"samples": 1, "temperature": 0, "top_p": 1}
    for variant, splits in report["pass_at_k"].items():
        records = read_jsonl(java / f"generations/{variant}.jsonl")
        assert all("sample" not in r for r in records)  # the records greedy runs always wrote
        for split, figures in splits.items():
            assert figures["samples_per_task"] == 1
            assert figures["pass_at_k"] == {"pass@1": metrics["generation"][variant][split]["functional_accuracy"]}
            assert figures["reasons"] == metrics["generation"][variant][split]["reasons"]


@pytest.mark.slow
def test_pass_at_k_of_the_workflow_is_computed_from_the_scored_samples(sampled_java_run):
    java = sampled_java_run / "results/java"
    report = json.loads((java / "pass_at_k.json").read_text())
    metrics = json.loads((java / "metrics.json").read_text())
    assert report["sampling"] == {"samples": 3, "temperature": 0.8, "top_p": 0.95}
    tasks = {split: read_jsonl(java / f"tasks/{split}.jsonl") for split in ("test", "test_unseen_words")}
    for variant, splits in report["pass_at_k"].items():
        records = read_jsonl(java / f"scored/{variant}.jsonl")
        assert len(records) == 3 * sum(map(len, tasks.values()))
        for split, figures in splits.items():
            rows = [r for r in records if r["split"] == split]
            by_task = {task["prompt"]: [r for r in rows if r["instruction"] == task["prompt"]] for task in tasks[split]}
            assert all(sorted(r["sample"] for r in samples) == [0, 1, 2] for samples in by_task.values())
            counts = [(len(samples), sum(r["functional"] for r in samples)) for samples in by_task.values()]
            for k in (1, 2, 3):
                direct = sum(comb_pass_at_k(n, c, k) for n, c in counts) / len(counts)
                assert figures["pass_at_k"][f"pass@{k}"] == pytest.approx(float(direct), abs=1e-12)
            assert (figures["tasks"], figures["samples_per_task"]) == (len(tasks[split]), 3)
            assert sum(figures["reasons"].values()) == len(rows)
            # Over all samples, the functional accuracy is pass@1 (every task has n samples).
            assert metrics["generation"][variant][split]["functional_accuracy"] == pytest.approx(figures["pass_at_k"]["pass@1"])
    # The samples differ from one another: they are drawn, not the greedy answer thrice.
    generated = [r["generated"] for r in read_jsonl(java / "generations/base.jsonl")]
    assert len(set(generated)) > len(generated) // 2


@pytest.mark.slow
def test_a_rerun_draws_the_same_samples(sampled_java_run):
    target = "results/java/generations/stage1.jsonl"
    before = (sampled_java_run / target).read_bytes()
    run_snakemake(sampled_java_run, target, "--forcerun", "generate_java_code")
    assert (sampled_java_run / target).read_bytes() == before


@needs_jdk
@pytest.mark.slow
def test_pass_at_k_of_judged_samples_with_passes_and_failures_is_the_direct_computation(greedy_java_run):
    """The tiny models never write a working method: here samples of the tiny run's own
    tasks, some the reference and some broken, go through the judge (each in its sandboxed
    JVM), so that c takes values between 0 and n."""
    from lmtune.java.checks import judge_generations

    tasks = read_jsonl(greedy_java_run / "results/java/tasks/test.jsonl")
    broken = ["", "public int nothing( {", "}"]
    records, expected_passes = [], []
    for index, task in enumerate(tasks):
        passes = index % 4  # 0, 1, 2 of 3 samples are the reference
        samples = [task["completion"]] * passes + broken[: 3 - passes]
        records += [{"split": "test", "family": task["family"], "instruction": task["prompt"],
                     "reference": task["completion"], "generated": code, "sample": j} for j, code in enumerate(samples)]
        expected_passes.append(passes)
    judged = judge_generations(records, workers=2)
    counts = [(3, sum(r["functional"] for r in judged if r["instruction"] == task["prompt"])) for task in tasks]
    assert [c for _, c in counts] == expected_passes
    figures = pass_at_k_figures(judged, [1, 2, 3])["test"]
    for k in (1, 2, 3):
        direct = sum(comb_pass_at_k(n, c, k) for n, c in counts) / len(counts)
        assert figures["pass_at_k"][f"pass@{k}"] == pytest.approx(float(direct))
    assert figures["reasons"]["ok"] == sum(expected_passes)
