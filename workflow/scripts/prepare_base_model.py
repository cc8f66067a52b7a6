"""Materialise the configured base model as a transformers folder (safetensors)."""

from lmtune.pipeline.jobs import start_job
from lmtune.core.models import materialize, parse_source

log = start_job(snakemake)
source = parse_source(snakemake.params.source)
log.info("materialising %s into %s", source, snakemake.output[0])
materialize(source, snakemake.output[0], trust_remote_code=snakemake.params.trust_remote_code)
