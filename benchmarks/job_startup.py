"""What a short job costs before and after its work, with Python's default garbage
collector and with the one `lmtune.pipeline.jobs.start_job` sets up (tune_garbage_collector),
side by side.

    .venv/bin/python benchmarks/job_startup.py [--model .test/models/tiny-llama] [--rounds 5]

Each round starts two fresh processes, in alternating order, that do what a training job
does around its work: import torch and datasets (a script's own imports), call or skip
`tune_garbage_collector` (where `start_job` calls it), import transformers' model classes
and Trainer (peft and bitsandbytes come with it), load the model, run one forward pass
and exit. Prints each process's wall and CPU seconds (its own and its children's, from
`resource.getrusage`), the means and their ratio.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

JOB = """
import torch, datasets
if {tuned}:
    from lmtune.core.process import tune_garbage_collector
    tune_garbage_collector()
from transformers import AutoModelForCausalLM, Trainer
model = AutoModelForCausalLM.from_pretrained({model!r})
with torch.no_grad():
    model(input_ids=torch.ones(1, 8, dtype=torch.long))
"""


def run_job(model: str, tuned: bool) -> tuple[float, float]:
    """Wall and CPU seconds of one job-like process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", JOB.format(tuned=tuned, model=model)],
        check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(REPO / ".test/models/tiny-llama"),
                        help="a model folder (default: the tiny Llama of .test/make_tiny_models.py)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not Path(args.model).is_dir():
        sys.exit(f"no model folder at {args.model}: run .venv/bin/python .test/make_tiny_models.py, or pass --model")

    times: dict[str, list[tuple[float, float]]] = {"default": [], "tuned": []}
    for round_ in range(args.rounds):
        order = ["default", "tuned"] if round_ % 2 == 0 else ["tuned", "default"]
        for name in order:
            times[name].append(run_job(args.model, tuned=name == "tuned"))
            wall, cpu = times[name][-1]
            print(f"round {round_ + 1} {name:7s} wall {wall:5.2f} s  cpu {cpu:5.2f} s", flush=True)
    mean = {name: [statistics.mean(t[i] for t in runs) for i in (0, 1)] for name, runs in times.items()}
    for name, (wall, cpu) in mean.items():
        print(f"mean {name:7s} wall {wall:5.2f} s  cpu {cpu:5.2f} s")
    print(f"tuned / default: wall {mean['tuned'][0] / mean['default'][0]:.2f}, cpu {mean['tuned'][1] / mean['default'][1]:.2f}")


if __name__ == "__main__":
    main()
