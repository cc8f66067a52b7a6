"""How long expanding a large sweep takes: a 10 x 10 x 10 grid (1,000 branches) over
config.yaml, each value checked by the config schema. Target: well under a second.

    .venv/bin/python benchmarks/sweep_expansion.py [--repeats 5]

Prints the median and best wall time of `lmtune.study.sweeps.expand_sweep`, and of
resolving (deep-merging and checking the whole config of) every branch, which a
workflow that plans the branches pays once per run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import yaml

from lmtune.core.schema import coerce_to_schema
from lmtune.experiments import config_schema
from lmtune.study.sweeps import expand_sweep, resolved_config

REPO = Path(__file__).resolve().parents[1]
GRID = {
    "mode": "grid",
    "settings": {
        "continual.phases.A.learning_rate": [1e-5 * (k + 1) for k in range(10)],
        "continual.phases.B.learning_rate": [1e-5 * (k + 1) for k in range(10)],
        "arithmetic.lora.r": list(range(1, 11)),
    },
}


def timed(function, repeats: int) -> tuple[float, float, object]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    schema = config_schema()
    base = yaml.safe_load((REPO / "config.yaml").read_text())
    coerce_to_schema(base, schema)
    median, best, branches = timed(lambda: expand_sweep(GRID, base, schema), args.repeats)
    print(f"expand_sweep, {len(branches)} branches: median {median * 1000:.0f} ms, best {best * 1000:.0f} ms (target < 1000 ms)")
    median, best, _ = timed(lambda: [resolved_config(base, branch, schema) for branch in branches], 1)
    print(f"resolved_config of every branch (whole-config schema check): {median:.2f} s")


if __name__ == "__main__":
    main()
