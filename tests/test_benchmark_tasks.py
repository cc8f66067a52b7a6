"""Benchmark tasks through lm-evaluation-harness (lmtune.core.benchmarks): the settings
checked at load, the files a task's identity holds, the per-task measures, and a real run
of the workflow whose figures equal a direct lm_eval.simple_evaluate on the same folders."""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from conftest import REPO, clone_run, planned_jobs, run_snakemake, tiny_config, write_config
from lmtune.continual.metrics import benchmark_metrics, metrics_report, summarise_runs
from lmtune.core.benchmarks import BenchmarkError, BenchmarkTask, benchmark_tasks, check_benchmarks, known_task_names
from lmtune.core.schema import ConfigError, check_schema, fill_defaults
from lmtune.experiments import config_schema
from lmtune.core.sources import hub_unreachable

SCHEMA = config_schema()


def write_tasks(folder: Path) -> dict[str, str]:
    """Two task YAMLs of our own over local JSON Lines in `folder`/tasks (their data paths
    relative to `folder`, as the workflow's working folder): sums in Spanish as multiple
    choice, and as a generated answer. Task name -> YAML path relative to `folder`."""
    tasks = folder / "tasks"
    tasks.mkdir(parents=True, exist_ok=True)
    choices = [
        {"question": f"¿Cuánto es {a} más {b}?", "choices": [str(a + b), str(a + b + 1), str(a * b + 3)], "label": 0}
        for a in range(1, 5)
        for b in range(1, 4)
    ]
    answers = [{"question": f"{a} más {b} es", "answer": str(a + b)} for a in range(1, 5) for b in range(1, 3)]
    for name, records in (("sums_choice", choices), ("sums_answer", answers)):
        (tasks / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    common = {"dataset_path": "json", "test_split": "test", "doc_to_text": "{{question}}"}
    (tasks / "sums_choice.yaml").write_text(yaml.safe_dump({
        "task": "sums_choice", **common,
        "dataset_kwargs": {"data_files": {"test": "tasks/sums_choice.jsonl"}},
        "output_type": "multiple_choice", "doc_to_choice": "choices", "doc_to_target": "label",
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
    }, allow_unicode=True))
    (tasks / "sums_answer.yaml").write_text(yaml.safe_dump({
        "task": "sums_answer", **common,
        "dataset_kwargs": {"data_files": {"test": "tasks/sums_answer.jsonl"}},
        "output_type": "generate_until", "doc_to_target": "answer",
        "generation_kwargs": {"until": ["\n"], "max_gen_toks": 6, "do_sample": False},
        "metric_list": [{"metric": "exact_match", "aggregation": "mean", "higher_is_better": True}],
    }, allow_unicode=True))
    return {name: f"tasks/{name}.yaml" for name in ("sums_choice", "sums_answer")}


def never_called():
    raise AssertionError("the hub was asked about a task file")


def test_a_task_file_names_its_task_and_every_file_it_reads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tasks(tmp_path)
    (tmp_path / "tasks" / "utils.py").write_text("def process(docs):\n    return docs\n")
    (tmp_path / "tasks" / "child.yaml").write_text(
        "include: sums_choice.yaml\ntask: sums_child\nprocess_docs: !function utils.process\n"
    )
    task = BenchmarkTask.from_setting({"task": "tasks/child.yaml", "num_fewshot": 2, "limit": 3})
    assert (task.name, task.num_fewshot, task.limit) == ("sums_child", 2, 3)
    assert task.files() == ["tasks/child.yaml", "tasks/utils.py", "tasks/sums_choice.yaml", "tasks/sums_choice.jsonl"]
    assert BenchmarkTask.from_setting({"task": "hellaswag", "num_fewshot": 0}).files() == []


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda tasks: tasks.append({"task": "tasks/none.yaml", "num_fewshot": 0}),
         r"^benchmarks.tasks\[2\].task: task file tasks/none.yaml does not exist$"),
        (lambda tasks: (Path("tasks/sums_answer.jsonl").unlink(), None)[1],
         r"^benchmarks.tasks\[1\].task: task file tasks/sums_answer.yaml reads tasks/sums_answer.jsonl, which does not exist$"),
        (lambda tasks: Path("tasks/sums_answer.yaml").write_text("dataset_path: json\n"),
         r"^benchmarks.tasks\[1\].task: task file tasks/sums_answer.yaml has no `task:` name"),
        (lambda tasks: tasks.append(dict(tasks[0])),
         r"^benchmarks.tasks\[2\].task: task 'sums_choice' is also benchmarks.tasks\[0\]$"),
    ],
)
def test_a_bad_task_stops_the_load_with_one_line_naming_the_setting(tmp_path, monkeypatch, change, message):
    monkeypatch.chdir(tmp_path)
    tasks = [{"task": path, "num_fewshot": 0} for path in write_tasks(tmp_path).values()]
    check_benchmarks({"tasks": tasks}, never_called, tmp_path)
    change(tasks)
    with pytest.raises(BenchmarkError, match=message):
        check_benchmarks({"tasks": tasks}, never_called, tmp_path)


@pytest.mark.parametrize(
    "setting, where",
    [({"num_fewshot": -1}, "benchmarks.tasks.0.num_fewshot"), ({"limit": 0}, "benchmarks.tasks.0.limit"),
     ({"metric": "acc"}, "benchmarks.tasks.0.metric")],
)
def test_bad_few_shot_limit_or_metric_is_named_by_the_schema(setting, where):
    config = tiny_config()
    config["benchmarks"] = {"tasks": [{"task": "arc_easy", **setting}]}
    with pytest.raises(ConfigError, match=rf"^config {where}: ") as error:
        check_schema(config, SCHEMA)
    assert "\n" not in str(error.value)


def test_the_default_is_no_task():
    config = tiny_config()
    fill_defaults(config, SCHEMA)
    assert config["benchmarks"] == {"tasks": [], "batch_size": 8}
    assert benchmark_tasks(config["benchmarks"]) == {}


def test_a_named_task_fails_fast_without_a_hub(tmp_path, monkeypatch):
    # lm-eval's index of its task names, as known_task_names keeps it (the index itself
    # takes seconds: test_an_unknown_task_name_is_named_at_load).
    (tmp_path / f"lm-eval-{version('lm-eval')}-tasks.txt").write_text("arc_easy\nhellaswag\n")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(BenchmarkError, match=r"^benchmarks.tasks\[0\].task: task 'hellaswag' reads its data from the hub, and HF_DATASETS_OFFLINE is set"):
        check_benchmarks({"tasks": [{"task": "hellaswag", "num_fewshot": 0}]}, hub_unreachable, tmp_path)


@pytest.mark.slow
def test_an_unknown_task_name_is_named_at_load(tmp_path):
    with pytest.raises(BenchmarkError, match=r"^benchmarks.tasks\[1\].task: lm-eval has no task 'hellaswog'"):
        check_benchmarks({"tasks": [{"task": "hellaswag", "num_fewshot": 0}, {"task": "hellaswog", "num_fewshot": 0}]},
                         never_called, tmp_path)
    # lm-eval's own index, kept: a Spanish task among them.
    assert {"hellaswag", "arc_easy", "piqa", "belebele_spa_Latn", "xnli_es"} <= known_task_names(tmp_path)


def figures(score: float, higher_is_better: bool = True) -> dict:
    return {"score": score, "stderr": 0.1, "metric": "acc,none", "higher_is_better": higher_is_better, "examples": 10}


def test_task_measures_are_gains_whichever_way_the_metric_points():
    order = ["A", "B"]
    benchmarks = {
        stage: {"acc_task": figures(acc), "perplexity_task": figures(ppl, higher_is_better=False)}
        for stage, acc, ppl in (("base", 0.5, 10.0), ("after_A", 0.7, 8.0), ("after_B", 0.4, 12.0))
    }
    result = benchmark_metrics(benchmarks, order)
    assert result["score_matrix"] == [[0.5, 10.0], [0.7, 8.0], [0.4, 12.0]]
    acc, ppl = result["measures"]["acc_task"], result["measures"]["perplexity_task"]
    # Accuracy: best before the end 0.7, final 0.4, base 0.5.
    assert (acc["forgetting"], acc["learning"], acc["transfer"]) == pytest.approx((0.3, 0.2, -0.1))
    # Perplexity, lower is better: best before the end 8, final 12, base 10.
    assert (ppl["forgetting"], ppl["learning"], ppl["transfer"]) == (4.0, 2.0, -2.0)


def test_tasks_join_the_summary_in_their_matrix_order():
    order = ["A", "B"]
    evals = {f"{stage}_{d}": {"eval_loss": 1.0 + i, "eval_perplexity": 2.0, "eval_tokens": 5}
             for i, stage in enumerate(["base", "after_A", "after_B"]) for d in order}
    runs = {}
    for seed, shift in ((0, 0.0), (1, 0.1)):
        benchmarks = {stage: {"zeta": figures(0.5 + shift + i / 10), "alpha": figures(0.2)}
                      for i, stage in enumerate(["base", "after_A", "after_B"])}
        # Through JSON, as the files carry them: keys sorted.
        runs[seed] = json.loads(json.dumps(metrics_report(evals, order, benchmarks), sort_keys=True))
    summary = json.loads(json.dumps(summarise_runs({"sequential": runs}), sort_keys=True))
    assert summary["benchmarks"]["tasks"] == ["zeta", "alpha"]
    means = summary["strategies"]["sequential"]["score_matrix_mean"]
    assert [row for row in means] == [pytest.approx(row) for row in ([0.55, 0.2], [0.65, 0.2], [0.75, 0.2])]
    assert summary["strategies"]["sequential"]["measures"]["transfer_zeta"]["values"] == pytest.approx([0.2, 0.2])
    # Without tasks, nothing of them.
    plain = summarise_runs({"sequential": {0: metrics_report(evals, order)}})
    assert "benchmarks" not in plain and "score_matrix_mean" not in plain["strategies"]["sequential"]


def direct_simple_evaluate(workdir: Path, model: Path, task: str) -> dict:
    """lm_eval.simple_evaluate as a user calls it on a model folder, in `workdir` (the
    task files' folder alone: indexing lm-eval's own thousands of tasks takes 10 s)."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    return lm_eval.simple_evaluate(
        model="hf", model_args=f"pretrained={model}", tasks=[task], device="cpu",
        task_manager=TaskManager(include_path=str(workdir / "tasks"), include_defaults=False),
        **{"sums_choice": {"num_fewshot": 1, "limit": 6}, "sums_answer": {"num_fewshot": 0, "limit": 4}}[task],
    )["results"][task]


@pytest.mark.slow
def test_the_workflow_benchmarks_every_continual_model_as_lm_eval_does(tiny_run, tmp_path, monkeypatch):
    # The tiny run's sequential seed 0, its models kept: the benchmark jobs are what runs.
    workdir = clone_run(tiny_run, tmp_path / "run")
    tasks = write_tasks(workdir)
    config = tiny_config()
    config["experiments"] = ["continual"]
    continual = config["continual"]
    continual["strategies"] = {"sequential": {"method": "sequential"}}
    continual["seeds"] = [0]
    config["benchmarks"] = {"tasks": [
        {"task": tasks["sums_choice"], "num_fewshot": 1, "limit": 6},
        {"task": tasks["sums_answer"], "limit": 4},
    ], "batch_size": 4}
    write_config(workdir, config)
    run_snakemake(workdir)

    results = workdir / "results" / "continual"
    models = {"base": Path(config["base_model"]["source"]),
              "sequential/seed0/B": results / "sequential/seed0/B/model"}
    # Every model the experiment evaluates has each task's figures, interpolated ones included.
    for folder in ["base", "sequential/seed0/A", "sequential/seed0/B",
                   *(f"interpolation/sequential/seed0/{c}/alpha0.5" for c in ("A_to_B", "base_to_B"))]:
        assert sorted(p.name for p in (results / folder / "benchmarks").iterdir()) == ["sums_answer.json", "sums_choice.json"]
    monkeypatch.chdir(workdir)
    for stage, model in models.items():
        for task, metric in (("sums_choice", "acc,none"), ("sums_answer", "exact_match,none")):
            ours = json.loads((results / stage / "benchmarks" / f"{task}.json").read_text())
            direct = direct_simple_evaluate(workdir, model, task)
            assert (ours["metric"], ours["score"], ours["stderr"]) == (metric, direct[metric], direct[metric.replace(",", "_stderr,")])
            assert ours["examples"] == {"sums_choice": 6, "sums_answer": 4}[task]
    summary = json.loads((results / "summary.json").read_text())
    run = json.loads((results / "sequential/seed0/metrics.json").read_text())["continual"]["benchmarks"]
    assert summary["benchmarks"]["tasks"] == run["tasks"] == ["sums_choice", "sums_answer"]
    assert summary["strategies"]["sequential"]["score_matrix_mean"] == run["score_matrix"]
    assert run["score_matrix"][0][0] == json.loads((results / "base/benchmarks/sums_choice.json").read_text())["score"]
    header = (results / "summary.csv").read_text().splitlines()[0]
    assert "forgetting_sums_choice_mean" in header and "transfer_sums_answer_mean" in header
    assert (results / "benchmarks.png").stat().st_size > 0

    # Adding a task runs that task's jobs only, and what gathers the figures; an
    # interpolated model, deleted once evaluated, is made again for it, and what reads that
    # model runs again (Snakemake reruns what a remade input feeds). So does changing a
    # task's data in place.
    config["benchmarks"]["tasks"].append({"task": "tasks/more.yaml", "limit": 3})
    (workdir / "tasks" / "more.yaml").write_text(
        (workdir / tasks["sums_choice"]).read_text().replace("task: sums_choice", "task: sums_more")
    )
    write_config(workdir, config)
    assert benchmark_jobs_planned(workdir) == expected_reruns("sums_more", ["sums_choice", "sums_answer", "sums_more"])
    config["benchmarks"]["tasks"].pop()
    write_config(workdir, config)
    with (workdir / "tasks" / "sums_answer.jsonl").open("a") as data:
        data.write(json.dumps({"question": "9 más 9 es", "answer": "18"}) + "\n")
    assert benchmark_jobs_planned(workdir) == expected_reruns("sums_answer", ["sums_choice", "sums_answer"])


INTERPOLATED = [f"interpolation/sequential/seed0/{curve}/alpha0.5" for curve in ("A_to_B", "base_to_B")]


def expected_reruns(task: str, every_task: list[str]) -> set[tuple[str, str]]:
    """(model folder, task) of the benchmark jobs that a new or changed `task` reruns: that
    task on every model, and every task on the interpolated models, made again."""
    folders = ["base", "sequential/seed0/A", "sequential/seed0/B"]
    return {(folder, task) for folder in folders} | {(folder, each) for folder in INTERPOLATED for each in every_task}


def benchmark_jobs_planned(workdir: Path) -> set[tuple[str, str]]:
    """(model folder, task) of each benchmark job a dry run plans."""
    out = run_snakemake(workdir, "-n").stdout
    jobs = re.findall(r"^\s*output: results/continual/(\S+)/benchmarks/([\w.-]+)\.json$", out, re.MULTILINE)
    assert len(jobs) == planned_jobs(out)["benchmark_continual_model"]
    return set(jobs)


def test_the_cross_table_gives_each_final_models_gain_against_its_own_base():
    from lmtune.cross import benchmark_rows

    results = {
        "base": {"t": figures(0.5), "ppl": figures(10.0, higher_is_better=False)},
        "arithmetic_lora": {"t": figures(0.25), "ppl": figures(12.5, higher_is_better=False)},
        "base_java": {"t": figures(0.3), "ppl": figures(20.0, higher_is_better=False)},
        "java_instruct": {"t": figures(0.4), "ppl": figures(18.0, higher_is_better=False)},
    }
    base_of = {"base": "base", "arithmetic_lora": "base", "base_java": "base_java", "java_instruct": "base_java"}
    gains = {(row["model"], row["task"]): row["gain_vs_base"] for row in benchmark_rows(results, base_of)}
    assert gains == {
        ("base", "t"): 0.0, ("base", "ppl"): 0.0,
        ("arithmetic_lora", "t"): -0.25, ("arithmetic_lora", "ppl"): -2.5,
        ("base_java", "t"): 0.0, ("base_java", "ppl"): 0.0,
        ("java_instruct", "t"): pytest.approx(0.1), ("java_instruct", "ppl"): 2.0,
    }
