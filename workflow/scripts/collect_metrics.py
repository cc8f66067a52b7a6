"""Gather every stage's evaluations into the experiment's metrics.json."""

import json
from pathlib import Path

from lmtune import atomic
from lmtune.jobs import start_job
from lmtune.metrics import metrics_report

log = start_job(snakemake)
# Each input is eval/<stage>/<domain>.json; its key is "<stage>_<domain>" (e.g. after_A_B).
evals = {
    f"{Path(path).parent.name}_{Path(path).stem}": json.loads(Path(path).read_text())
    for path in snakemake.input
}
report = metrics_report(evals, snakemake.params.order)
log.info("forgetting and transfer: %s", report["continual"]["domains"])
atomic.write_json(snakemake.output[0], report)
