"""Every final model's benchmark figures in one table, with the change against its base."""

import json
from pathlib import Path

import pandas as pd

from lmtune.core import atomic
from lmtune.cross import benchmark_rows
from lmtune.pipeline.jobs import start_job

log = start_job(snakemake)
results = {}
for (model_id, task), path in zip(snakemake.params.pairs, snakemake.input, strict=True):
    results.setdefault(model_id, {})[task] = json.loads(Path(path).read_text())
table = pd.DataFrame(benchmark_rows(results, snakemake.params.base_of))
log.info("benchmark tasks across experiments:\n%s", table.to_string(index=False))
atomic.write_text(snakemake.output[0], table.to_csv(index=False))
