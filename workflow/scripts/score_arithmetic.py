"""Figures per model and evaluation set, and the error-by-target plot."""

from lmtune import atomic
from lmtune.arithmetic import score
from lmtune.jobs import start_job
from lmtune.jsonl import read_jsonl
from lmtune.plots import plot_error_by_target

log = start_job(snakemake)
generations = {variant: read_jsonl(path) for variant, path in zip(snakemake.params.variants, snakemake.input)}
metrics = {
    variant: {eval_set: score([r for r in records if r["set"] == eval_set]) for eval_set in snakemake.params.eval_sets}
    for variant, records in generations.items()
}
log.info("%s", metrics)
atomic.write_json(snakemake.output.metrics, metrics)
plot_error_by_target(generations, snakemake.output.plot)
