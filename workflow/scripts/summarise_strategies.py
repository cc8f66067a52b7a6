"""Mean and spread over seeds of every strategy's forgetting, learning and transfer."""

import json
from collections import defaultdict
from pathlib import Path

import pandas as pd

from lmtune.core import atomic
from lmtune.pipeline.jobs import start_job
from lmtune.continual.metrics import summarise_runs, summary_rows

log = start_job(snakemake)
runs = defaultdict(dict)
for (strategy, seed), path in zip(snakemake.params.runs, snakemake.input, strict=True):
    runs[strategy][seed] = json.loads(Path(path).read_text())
summary = summarise_runs(dict(runs))
table = pd.DataFrame(summary_rows(summary))
log.info("summary:\n%s", table.to_string(index=False))
atomic.write_json(snakemake.output.summary, summary)
atomic.write_text(snakemake.output.table, table.to_csv(index=False))
