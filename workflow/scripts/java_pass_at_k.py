"""pass@k per model and test split from the judged samples, beside the sampling settings
that drew them."""

from lmtune.core import atomic
from lmtune.core.jsonl import read_jsonl
from lmtune.java.passk import pass_at_k_figures
from lmtune.pipeline.jobs import start_job

log = start_job(snakemake)
report = {
    "sampling": snakemake.params.sampling,
    "pass_at_k": {
        variant: pass_at_k_figures(read_jsonl(path), snakemake.params.ks)
        for variant, path in zip(snakemake.params.variants, snakemake.input.scored)
    },
}
log.info("%s", report)
atomic.write_json(snakemake.output[0], report)
