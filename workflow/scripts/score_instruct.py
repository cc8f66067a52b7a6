"""Every generated answer against its reference (exact match, chrF), and the experiment's
figures: validation loss and perplexity, and the generation scores over the set. Reads
only saved files: rescoring needs no model."""

import json
from pathlib import Path

from lmtune.core import atomic
from lmtune.pipeline.jobs import start_job
from lmtune.core.jsonl import read_jsonl, write_jsonl
from lmtune.instruct.metrics import example_scores, generation_metrics

log = start_job(snakemake)
records = read_jsonl(snakemake.input.generations)
write_jsonl(snakemake.output.scored, ({**r, **example_scores(r["generated"], r["reference"])} for r in records))
metrics = {
    "validation": json.loads(Path(snakemake.input.evaluation).read_text()),
    "generation": generation_metrics([(r["generated"], r["reference"]) for r in records]),
}
log.info("%s", metrics)
atomic.write_json(snakemake.output.metrics, metrics)
