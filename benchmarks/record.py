"""Run one benchmark script and keep what it printed as a result file of the documentation
(docs/benchmarks/<name>.json, read by the Benchmarks page as the site builds), with the
command, the date, the machine and the commit beside it. Figures in the documentation come
only from such files.

    .venv/bin/python benchmarks/record.py sweep_expansion.py --repeats 5
    .venv/bin/python benchmarks/record.py --name java_checks-hostile java_checks.py --hostile 4

Arguments after the script's name are the script's own. Commit the file it writes.
"""

from __future__ import annotations

import argparse

from lmtune.docs import BENCHMARK_RECORDS, record_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", help="the result file's name (default: the script's); one file per name")
    parser.add_argument("--records", default=str(BENCHMARK_RECORDS), help="the folder of result files")
    parser.add_argument("script", help="a script of benchmarks/, e.g. sweep_expansion.py")
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="the script's own arguments")
    args = parser.parse_args()
    print(record_benchmark(args.script, args.arguments, name=args.name, records=args.records))


if __name__ == "__main__":
    main()
