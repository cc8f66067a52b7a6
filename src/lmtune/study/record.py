"""The run record: what produced a results folder, in `<results>/run.json`.

It holds the resolved config, the code's git commit and whether the work tree had
uncommitted changes, the versions of the packages that decide a result, the machine
(CPU model, GPUs), and every job's wall time and peak memory from Snakemake's
`benchmark:` files (`<results>/benchmarks/<rule>/<job>.tsv`, or `<rule>.tsv` for a rule
with one job). `compare` reads it back to say which settings two results differ in.
"""

from __future__ import annotations

import csv
import datetime
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from lmtune.core import atomic
from lmtune.core.fingerprint import code_version

if TYPE_CHECKING:
    import pandas as pd

RUN_RECORD = "run.json"
BENCHMARKS = "benchmarks"


# --- per-job time and memory ---------------------------------------------------------


def _number(text: str | None) -> float | None:
    """A benchmark cell: Snakemake writes NA when a job ended before memory was sampled."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def read_benchmarks(benchmarks: str | Path) -> dict[str, dict[str, dict[str, float | None]]]:
    """rule -> job (the file's path under the rule's folder, or the rule) -> `s`, the wall
    seconds (the mean over a file's repeats), and `max_rss`, the peak resident memory in
    MB (the largest; None when never sampled)."""
    benchmarks = Path(benchmarks)
    rules: dict[str, dict[str, dict[str, float | None]]] = {}
    for path in sorted(benchmarks.rglob("*.tsv")):
        relative = path.relative_to(benchmarks)
        rule = relative.parts[0].removesuffix(".tsv")
        job = str(Path(*relative.parts[1:]).with_suffix("")) if len(relative.parts) > 1 else rule
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        if not rows:
            continue
        memory = [m for m in (_number(row.get("max_rss")) for row in rows) if m is not None]
        rules.setdefault(rule, {})[job] = {
            "s": sum(float(row["s"]) for row in rows) / len(rows),
            "max_rss": max(memory) if memory else None,
        }
    return rules


def rule_times(jobs: dict[str, dict[str, dict[str, float | None]]]) -> "pd.DataFrame":
    """One row per rule, most job-seconds first: its jobs, their seconds, the share of all
    job-seconds (overlapping jobs count in full), the largest peak memory, and each job's
    own seconds when there are several."""
    import pandas as pd

    total = sum(job["s"] for rule in jobs.values() for job in rule.values()) or 1.0
    rows = []
    for rule, by_job in jobs.items():
        seconds = sum(job["s"] for job in by_job.values())
        memory = [job["max_rss"] for job in by_job.values() if job["max_rss"] is not None]
        rows.append({
            "rule": rule,
            "jobs": len(by_job),
            "seconds": round(seconds, 1),
            "share": f"{seconds / total:.0%}",
            "peak_rss_mb": round(max(memory)) if memory else None,
            "per job (s)": ", ".join(f"{job} {figures['s']:.0f}" for job, figures in by_job.items()) if len(by_job) > 1 else "",
        })
    rows.sort(key=lambda row: -row["seconds"])
    return pd.DataFrame(rows, columns=["rule", "jobs", "seconds", "share", "peak_rss_mb", "per job (s)"])


def rule_times_markdown(jobs: dict[str, dict[str, dict[str, float | None]]]) -> str:
    """`rule_times` as a Markdown table, with a total row, for the report."""
    import pandas as pd

    from lmtune.study.table import markdown_table

    table = rule_times(jobs)
    total = pd.DataFrame([{"rule": "total", "jobs": int(table["jobs"].sum()), "seconds": round(float(table["seconds"].sum()), 1),
                           "share": "100%", "peak_rss_mb": table["peak_rss_mb"].max(), "per job (s)": ""}])
    return markdown_table(pd.concat([table, total], ignore_index=True) if len(table) else table)


# --- code, packages, machine -----------------------------------------------------------


def git_state(repo: str | Path) -> dict[str, str | bool | None]:
    """`commit` (HEAD) and `dirty` (uncommitted changes, untracked files included); both
    None where there is no git or `repo` is not in a repository."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    commit, status = git("rev-parse", "HEAD"), git("status", "--porcelain")
    return {"commit": commit.strip() if commit else None, "dirty": None if status is None else bool(status.strip())}


def package_versions() -> dict[str, str | None]:
    """The training packages' versions (those the checkpoint fingerprint records) and
    Snakemake's; None for one not installed."""
    versions = {name: version for name, version in code_version().items() if name != "lmtune"}
    try:
        versions["snakemake"] = metadata.version("snakemake")
    except metadata.PackageNotFoundError:
        versions["snakemake"] = None
    return versions


def machine() -> dict:
    """The CPU model and core count, and the GPUs torch sees (an empty list: none)."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        cpu = names[0] if names else cpu
    import torch

    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "gpus": gpus, "python": platform.python_version(), "system": platform.platform()}


# --- the record --------------------------------------------------------------------------


def run_record(results: str | Path, config: dict, repo: str | Path = ".", metrics_files: dict | None = None) -> dict:
    """The record of the results folder `results`, made by `config` from the code at `repo`;
    `metrics_files`: experiment -> its headline metrics file, relative to `results` (in a
    study, a branch reads what an earlier run made from that run's folder)."""
    benchmarks = Path(results) / BENCHMARKS
    return {
        "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        "metrics_files": metrics_files or {},
        "code": {**git_state(repo), "lmtune_source": code_version()["lmtune"]},
        "packages": package_versions(),
        "machine": machine(),
        "jobs": read_benchmarks(benchmarks) if benchmarks.is_dir() else {},
    }


def write_run_record(results: str | Path, config: dict, repo: str | Path = ".", metrics_files: dict | None = None) -> Path:
    """Write `<results>/run.json` and return its path."""
    path = Path(results) / RUN_RECORD
    atomic.write_json(path, run_record(results, config, repo, metrics_files))
    return path
