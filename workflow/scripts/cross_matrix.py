"""Gather the cross evaluations into one table and a heatmap."""

import json
from pathlib import Path

import pandas as pd

from lmtune.core import atomic
from lmtune.cross import cross_rows, gather_results
from lmtune.pipeline.jobs import start_job
from lmtune.cross import plot_cross_matrix

log = start_job(snakemake)
models = snakemake.params.models
computed = {
    model_id: json.loads(Path(path).read_text())
    for model_id, path in zip(snakemake.params.computed, snakemake.input.computed, strict=True)
}
results = gather_results(models, snakemake.params.sets, computed)
table = pd.DataFrame(cross_rows(results, {model: spec["base"] for model, spec in models.items()}))
log.info("cross-experiment matrix:\n%s", table.to_string(index=False))
atomic.write_text(snakemake.output.table, table.to_csv(index=False))
plot_cross_matrix(table, snakemake.output.plot)
