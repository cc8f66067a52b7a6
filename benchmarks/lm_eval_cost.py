"""What a benchmark job (rule benchmark_continual_model) costs: seconds per 100 examples of
a multiple-choice task and of a generated-answer task, on the bundled SmolLM2-135M.

    .venv/bin/python benchmarks/lm_eval_cost.py [--model FOLDER] [--examples 100] [--threads 2]

Each task is a task YAML over local JSON Lines made here from the continual corpora (4
choices of about 30 words each; answers of up to 16 generated tokens). The job's own
function, lmtune.core.benchmarks.evaluate_task, runs each task in this process: once to
warm up, then --rounds times on --small examples and on --examples. The difference gives
the cost per example (wall and CPU seconds), the rest the fixed cost of a job (lm-eval's
set-up, the model's load); the imports are timed apart. On a shared machine, trust the
CPU seconds over the wall seconds.

The model is the config's base model (config.yaml), materialised once into --cache as
the rule prepare_base_model does; pass --model for another folder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

CORPORA = [REPO / "resources/corpora/dominio_a_ia.txt", REPO / "resources/corpora/dominio_b_reglamento.txt"]


def bundled_model(cache: Path) -> str:
    from lmtune.core.models import materialize, parse_source

    source = parse_source(yaml.safe_load((REPO / "config.yaml").read_text())["base_model"]["source"])
    folder = cache / source.slug
    if not (folder / "config.json").is_file():
        print(f"materialising {source.location} into {folder} (as the rule prepare_base_model does)", flush=True)
        materialize(source, folder)
    return str(folder)


def write_tasks(folder: Path, examples: int) -> dict[str, Path]:
    """A multiple-choice and a generated-answer task over the corpora's sentences."""
    words = " ".join(path.read_text(encoding="utf-8") for path in CORPORA).split()
    pieces = [" ".join(words[i : i + 30]) for i in range(0, len(words) - 30, 30)]
    rng = random.Random(0)
    choice_records, answer_records = [], []
    for index in range(examples):
        context, *endings = rng.sample(pieces, 5)
        choice_records.append({"context": context, "choices": endings[:4], "label": index % 4})
        answer_records.append({"context": context, "answer": endings[0].split()[0]})
    tasks = {}
    for name, records, settings in (
        ("cost_choice", choice_records,
         {"output_type": "multiple_choice", "doc_to_choice": "choices", "doc_to_target": "label",
          "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}]}),
        ("cost_answer", answer_records,
         {"output_type": "generate_until", "doc_to_target": "answer",
          "generation_kwargs": {"until": ["\n"], "max_gen_toks": 16, "do_sample": False},
          "metric_list": [{"metric": "exact_match", "aggregation": "mean", "higher_is_better": True}]}),
    ):
        data = folder / f"{name}.jsonl"
        data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        tasks[name] = folder / f"{name}.yaml"
        tasks[name].write_text(yaml.safe_dump({
            "task": name, "dataset_path": "json", "dataset_kwargs": {"data_files": {"test": str(data)}},
            "test_split": "test", "doc_to_text": "{{context}}", **settings,
        }, allow_unicode=True))
    return tasks


def timed(function) -> tuple[float, float, object]:
    """Wall and CPU seconds of `function()` in this process, and its result."""
    start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    result = function()
    after = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter() - start, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a model folder (default: config.yaml's base model, the bundled SmolLM2-135M)")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "lmtune-benchmark-models"))
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--small", type=int, default=5, help="examples of the run that gives the fixed cost")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs; medians are printed")
    parser.add_argument("--batch-size", type=int, default=8, help="benchmarks.batch_size")
    args = parser.parse_args()
    if args.small >= args.examples:
        parser.error("--small must be below --examples")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    from lmtune.core.benchmarks import BenchmarkTask, evaluate_task

    # A job imports these before its work; timed apart from the runs.
    import_wall, import_cpu, _ = timed(lambda: (__import__("lm_eval.tasks"), __import__("transformers")))
    model = args.model or bundled_model(Path(args.cache))
    print(f"model {model}, {args.threads} thread(s), batch {args.batch_size}, cores on this machine: {os.cpu_count()}"
          f", load average {os.getloadavg()[0]:.1f} (a shared machine's other work slows wall time, not CPU time)")
    print(f"imports (lm_eval, transformers): {import_wall:.1f} s wall, {import_cpu:.1f} s CPU")
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in write_tasks(Path(tmp), args.examples).items():
            def run(limit):
                task = BenchmarkTask.from_setting({"task": str(path), "num_fewshot": 0, "limit": limit})
                wall, cpu, figures = timed(lambda: evaluate_task(model, task, "cpu", "fp32", args.batch_size))
                assert figures["examples"] == limit, figures
                return wall, cpu

            run(args.small)  # warm-up: what the first call of a process loads once
            extra = args.examples - args.small
            per_example, fixed = [], []
            for _ in range(args.rounds):
                small, full = run(args.small), run(args.examples)
                per_example.append(((full[0] - small[0]) / extra, (full[1] - small[1]) / extra))
                fixed.append(small[0] - args.small * per_example[-1][0])
            per_wall = statistics.median(wall for wall, _ in per_example)
            per_cpu = statistics.median(cpu for _, cpu in per_example)
            print(f"{name}: {100 * per_wall:.1f} s per 100 examples (wall), {100 * per_cpu:.1f} s CPU; "
                  f"fixed cost (task set-up, model load) {statistics.median(fixed):.1f} s; "
                  f"median of {args.rounds} round(s)")

if __name__ == "__main__":
    main()
