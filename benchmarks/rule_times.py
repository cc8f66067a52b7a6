"""Where a finished run's time went: job-seconds per rule, from its `benchmark:` files.

    .venv/bin/python benchmarks/rule_times.py [--results results]

Each rule's benchmark files lie under results/benchmarks/<rule>/ (or are
results/benchmarks/<rule>.tsv); every file holds one job's wall seconds (column `s`).
Prints, per rule, the jobs, their seconds (each job's own, in brackets when several), the
total and its share of all job-seconds, largest first. Jobs that overlap count in full, so
the total can exceed the run's wall time.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path


def rule_seconds(benchmarks: Path) -> dict[str, dict[str, float]]:
    """rule -> {job (the file's path under the rule's folder): seconds}."""
    rules: dict[str, dict[str, float]] = {}
    for path in sorted(benchmarks.rglob("*.tsv")):
        relative = path.relative_to(benchmarks)
        rule = relative.parts[0].removesuffix(".tsv")
        job = str(Path(*relative.parts[1:]).with_suffix("")) if len(relative.parts) > 1 else rule
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        if rows:
            rules.setdefault(rule, {})[job] = sum(float(row["s"]) for row in rows) / len(rows)
    return rules


def table(rules: dict[str, dict[str, float]]) -> str:
    total = sum(sum(jobs.values()) for jobs in rules.values()) or 1.0
    lines = [f"{'rule':<28} {'jobs':>4} {'s':>8} {'share':>6}  per job (s)"]
    for rule, jobs in sorted(rules.items(), key=lambda item: -sum(item[1].values())):
        seconds = sum(jobs.values())
        each = ", ".join(f"{job} {s:.0f}" for job, s in jobs.items()) if len(jobs) > 1 else ""
        lines.append(f"{rule:<28} {len(jobs):>4} {seconds:>8.0f} {seconds / total:>6.0%}  {each}")
    lines.append(f"{'total':<28} {sum(len(j) for j in rules.values()):>4} {total:>8.0f} {1:>6.0%}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default="results", help="the run's results folder")
    args = parser.parse_args()
    benchmarks = Path(args.results) / "benchmarks"
    if not benchmarks.is_dir():
        raise SystemExit(f"no {benchmarks}: run the workflow first")
    print(table(rule_seconds(benchmarks)))


if __name__ == "__main__":
    main()
