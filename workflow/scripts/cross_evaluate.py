"""Loss of one final model on every experiment's held-out set."""

from lmtune.core import atomic
from lmtune.cross import evaluate_everywhere
from lmtune.pipeline.jobs import job_model, start_job

log = start_job(snakemake)
model, tokenizer = job_model(snakemake)
results = evaluate_everywhere(model, tokenizer, snakemake.params.sets)
atomic.write_json(snakemake.output[0], results)
