"""The `lmtune` command: what a user asks of finished runs and of the library.

    lmtune compare RESULTS_A RESULTS_B [...] [--format markdown|csv]
    lmtune strategies
    lmtune rule-times [--results results]

- `compare`: the settings, code and packages two or more results folders differ in (from
  each folder's `run.json`, lmtune.study.record), and every headline metric
  (lmtune.study.headline) with its change against the first folder (Δ columns). Markdown
  by default; `--format csv` prints one table with a `section` column.
- `strategies`: every continual strategy, what it does and its settings, as a Markdown
  table.
- `rule-times`: where a finished run's time went: per rule, its jobs, their seconds, the
  share of all job-seconds and the largest peak memory, from the run's `benchmark:`
  files. Jobs that overlap count in full, so the total can exceed the run's wall time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def compare(args) -> int:
    from lmtune.study.compare import CompareError, compare_folders, comparison_markdown

    if len(args.folders) < 2:
        args.parser.error("give two results folders or more")
    try:
        table = compare_folders(args.folders)
    except CompareError as exc:
        print(f"lmtune compare: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(table.to_csv(index=False) if args.format == "csv" else comparison_markdown(table))
    return 0


def strategies(args) -> int:
    from lmtune.continual.strategies import describe

    print(describe())
    return 0


def rule_times(args) -> int:
    from lmtune.study.record import BENCHMARKS, read_benchmarks, rule_times_markdown

    benchmarks = Path(args.results) / BENCHMARKS
    if not benchmarks.is_dir():
        print(f"lmtune rule-times: no {benchmarks}: run the workflow first", file=sys.stderr)
        return 2
    print(rule_times_markdown(read_benchmarks(benchmarks)), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lmtune", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("compare", help="results folders side by side: settings and headline metrics")
    command.add_argument("folders", nargs="+", metavar="RESULTS", help="results folders; the first is the reference")
    command.add_argument("--format", choices=["markdown", "csv"], default="markdown")
    command.set_defaults(run=compare, parser=command)
    command = commands.add_parser("strategies", help="every continual strategy and its settings")
    command.set_defaults(run=strategies)
    command = commands.add_parser("rule-times", help="job-seconds and peak memory per rule of a finished run")
    command.add_argument("--results", default="results", help="the run's results folder")
    command.set_defaults(run=rule_times)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
