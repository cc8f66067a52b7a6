"""Every saved answer judged (reason code, sum, error), figures per model and evaluation
set, and the error-by-target plot. Reads only the generations: rescoring needs no model."""

from lmtune.core import atomic
from lmtune.arithmetic.scoring import judge, score
from lmtune.pipeline.jobs import start_job
from lmtune.core.jsonl import read_jsonl, write_jsonl
from lmtune.arithmetic.plots import plot_error_by_target

log = start_job(snakemake)
addend_range = snakemake.params.addend_range
judged = {}
for variant, generations, scored in zip(snakemake.params.variants, snakemake.input, snakemake.output.scored):
    judged[variant] = [judge(record, addend_range) for record in read_jsonl(generations)]
    write_jsonl(scored, judged[variant])
metrics = {
    variant: {eval_set: score([r for r in records if r["set"] == eval_set]) for eval_set in snakemake.params.eval_sets}
    for variant, records in judged.items()
}
log.info("%s", metrics)
atomic.write_json(snakemake.output.metrics, metrics)
plot_error_by_target(judged, metrics, snakemake.output.plot)
