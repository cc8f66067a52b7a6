"""Where a finished run's time went: job-seconds and peak memory per rule, from its
`benchmark:` files.

    .venv/bin/python benchmarks/rule_times.py [--results results]

Each rule's benchmark files lie under results/benchmarks/<rule>/ (or are
results/benchmarks/<rule>.tsv); every file holds one job's wall seconds (column `s`) and
peak memory (`max_rss`, MB). Prints a Markdown table: per rule, the jobs, their seconds
(each job's own when several), the share of all job-seconds and the largest peak memory,
largest first. Jobs that overlap count in full, so the total can exceed the run's wall
time. The reading and the table are `lmtune.study.record`'s, as in a run's `run.json`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lmtune.study.record import BENCHMARKS, read_benchmarks, rule_times_markdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default="results", help="the run's results folder")
    args = parser.parse_args()
    benchmarks = Path(args.results) / BENCHMARKS
    if not benchmarks.is_dir():
        raise SystemExit(f"no {benchmarks}: run the workflow first")
    print(rule_times_markdown(read_benchmarks(benchmarks)), end="")


if __name__ == "__main__":
    main()
