"""Compare results folders: the settings they differ in and their headline metrics.

    python -m lmtune.compare RESULTS_A RESULTS_B [...] [--format markdown|csv]

Reads each folder's `run.json` (the resolved config, the code's commit, the package
versions; `lmtune.study.record`) and its experiments' metrics files, and prints the
settings, code and packages that differ, and every headline metric
(`lmtune.study.headline`) with its change against the first folder (Δ columns).
Markdown by default; `--format csv` prints one table with a `section` column.
"""

from __future__ import annotations

import argparse
import sys

from lmtune.study.compare import CompareError, compare_folders, comparison_markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lmtune.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", metavar="RESULTS", help="results folders; the first is the reference")
    parser.add_argument("--format", choices=["markdown", "csv"], default="markdown")
    args = parser.parse_args(argv)
    if len(args.folders) < 2:
        parser.error("give two results folders or more")
    try:
        table = compare_folders(args.folders)
    except CompareError as exc:
        print(f"lmtune.compare: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(table.to_csv(index=False) if args.format == "csv" else comparison_markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
