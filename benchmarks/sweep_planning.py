"""How long `snakemake -n` takes to plan a study: config.yaml with a sweep of N values of
one setting (`continual.phases.B.learning_rate`), every branch a module of the workflow
(workflow/rules/study.smk). Targets (issue 29): 1,000 jobs (about 110 branches) planned
in at most 5 s, and 1,000 branches in at most 60 s, on 2 quiet cores.

    .venv/bin/python benchmarks/sweep_planning.py [--branches 1 10 50] [--experiments continual]
        [--setting continual.phases.A.learning_rate]

For each sweep size it prints the branches, the jobs planned (every branch from nothing)
and the wall time of the dry run, best of `--repeats`; then the seconds each further
branch costs (the slope between the smallest and largest sweep) and the jobs a 10 s plan
holds at that rate. Each branch loads the whole workflow once as a Snakemake module (its
rules made again; their files are parsed once per process, lmtune.pipeline.parse_cache):
planning grows with branches, not jobs. Run it from another checkout to compare two
versions side by side (`python /other/checkout/benchmarks/sweep_planning.py`).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SETTING = "continual.phases.B.learning_rate"


def study_config(branches: int, experiments: list[str], setting: str = SETTING) -> dict:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["experiments"] = experiments
    values = [1e-4 * (1 + (k + 1) / 1000) for k in range(branches)]  # near the base's 1e-4, never it
    config["sweeps"] = {"settings": {setting: values}}
    return config


def dry_run(workdir: Path) -> tuple[float, int, float]:
    """Wall seconds of `snakemake -n` in `workdir`, the jobs it planned, and its CPU
    seconds (user and system: what a busy machine's other work changes least)."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
               "-n", "--cores", "2", "--quiet", "rules"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"snakemake -n failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    total = re.search(r"^total\s+(\d+)$", done.stdout + done.stderr, re.MULTILINE)
    return seconds, int(total.group(1)) if total else 0, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--branches", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--experiments", nargs="+", default=["continual"])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--setting", default=SETTING, help="the learning rate swept (a phase A one plans more jobs a branch)")
    args = parser.parse_args()

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; experiments {args.experiments}; sweeping {args.setting}")
    print(f"{'branches':>8} {'jobs':>6} {'seconds':>8} {'cpu s':>8}")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        (workdir / "resources").symlink_to(REPO / "resources")
        for branches in args.branches:
            (workdir / "config.yaml").write_text(yaml.safe_dump(study_config(branches, args.experiments, args.setting), sort_keys=False))
            runs = [dry_run(workdir) for _ in range(args.repeats)]
            seconds, jobs, cpu = min(runs)
            rows.append((branches, jobs, seconds))
            print(f"{branches:>8} {jobs:>6} {seconds:>8.1f} {cpu:>8.1f}", flush=True)
    (small, _, t_small), (large, jobs_large, t_large) = rows[0], rows[-1]
    if large > small:
        per_branch = (t_large - t_small) / (large - small)
        jobs_per_branch = jobs_large / (large + 1)
        fixed = t_small - per_branch * small
        affordable = (10 - fixed) / per_branch if per_branch > 0 else float("inf")
        print(f"each further branch: {per_branch:.3f} s ({jobs_per_branch:.0f} jobs); "
              f"a 10 s plan holds about {affordable:.0f} branches, {affordable * jobs_per_branch:.0f} jobs")


if __name__ == "__main__":
    main()
