"""What a short job costs before and after its work, side by side: with Python's default
garbage collector, with the one `lmtune.pipeline.jobs.start_job` sets up
(tune_garbage_collector), and with that and the libraries a job without a LoRA adapter or
a 4-bit base does not use left out (lmtune.core.process.leave_out: peft, bitsandbytes).

    .venv/bin/python benchmarks/job_startup.py [--model .test/models/tiny-llama] [--rounds 5] [--kinds training evaluation]

Each round starts one fresh process per variant and job kind, in turn (the order rotates
from round to round), that does what such a job does around its work: import torch and
datasets (a script's own imports), call or skip `tune_garbage_collector` (where
`start_job` calls it), leave out or not what it does not use, import transformers' model
classes and, for a training job, the Trainer; load the model, run one forward pass and
exit. Prints each process's wall and CPU seconds (its own and its children's, from
`resource.getrusage`), the means and their ratios per job kind.
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
if {lean}:
    from lmtune.core.adapters import unused_libraries
    from lmtune.core.process import leave_out
    leave_out(unused_libraries(adapter=False, quantized=False))
from transformers import AutoModelForCausalLM
if {training}:
    from transformers import Trainer
model = AutoModelForCausalLM.from_pretrained({model!r})
with torch.no_grad():
    model(input_ids=torch.ones(1, 8, dtype=torch.long))
"""
# variant -> (tuned collector, unused libraries left out)
VARIANTS = {"default": (False, False), "tuned": (True, False), "lean": (True, True)}
JOB_KINDS = ("training", "evaluation")


def run_job(model: str, variant: str, kind: str) -> tuple[float, float]:
    """Wall and CPU seconds of one job-like process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", JOB.format(tuned=VARIANTS[variant][0], lean=VARIANTS[variant][1],
                                          training=kind == "training", model=model)],
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
    parser.add_argument("--kinds", nargs="+", choices=JOB_KINDS, default=list(JOB_KINDS), help="the job kinds to measure")
    args = parser.parse_args()
    if not Path(args.model).is_dir():
        sys.exit(f"no model folder at {args.model}: run .venv/bin/python .test/make_tiny_models.py, or pass --model")

    times = {(kind, variant): [] for kind in args.kinds for variant in VARIANTS}
    for round_ in range(args.rounds):
        runs = list(times)
        for kind, variant in runs[round_ % len(runs):] + runs[:round_ % len(runs)]:
            times[kind, variant].append(run_job(args.model, variant, kind))
            wall, cpu = times[kind, variant][-1]
            print(f"round {round_ + 1} {kind:10s} {variant:7s} wall {wall:5.2f} s  cpu {cpu:5.2f} s", flush=True)
    mean = {key: [statistics.mean(t[i] for t in runs) for i in (0, 1)] for key, runs in times.items()}
    for (kind, variant), (wall, cpu) in mean.items():
        print(f"mean {kind:10s} {variant:7s} wall {wall:5.2f} s  cpu {cpu:5.2f} s")
    for kind in args.kinds:
        for new, old in (("tuned", "default"), ("lean", "tuned")):
            (new_wall, new_cpu), (old_wall, old_cpu) = mean[kind, new], mean[kind, old]
            print(f"{kind} {new} / {old}: wall {new_wall / old_wall:.2f}, cpu {new_cpu / old_cpu:.2f}")


if __name__ == "__main__":
    main()
