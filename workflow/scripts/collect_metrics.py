"""Gather one run's evaluations into its metrics.json and loss-matrix table."""

import json
from collections import defaultdict
from pathlib import Path

import pandas as pd

from lmtune.core import atomic
from lmtune.pipeline.jobs import start_job
from lmtune.continual.metrics import matrix_rows, metrics_report

log = start_job(snakemake)
# Inputs are named as the seed named the figures: base_A, after_A_B, ...; the benchmark
# tasks' results are the list `benchmarks`.
evals = {name: json.loads(Path(path).read_text()) for name, path in snakemake.input.items() if name != "benchmarks"}
benchmarks = defaultdict(dict)
for (stage, task), path in zip(snakemake.params.benchmark_keys, snakemake.input.benchmarks, strict=True):
    benchmarks[stage][task] = json.loads(Path(path).read_text())
order = snakemake.params.order
report = metrics_report(evals, order, dict(benchmarks))
log.info("forgetting and transfer: %s", report["continual"]["domains"])
atomic.write_json(snakemake.output.metrics, report)
atomic.write_text(snakemake.output.matrix, pd.DataFrame(matrix_rows(evals, order)).to_csv(index=False))
