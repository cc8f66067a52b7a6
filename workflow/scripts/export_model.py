"""The fine-tuned model as a plain transformers folder (safetensors and the tokenizer):
the adapter merged into its base where there is one."""

from lmtune.pipeline.jobs import start_job
from lmtune.instruct.export import export_model

log = start_job(snakemake)
export_model(snakemake.input.model, snakemake.output[0], snakemake.params.precision, adapter_dir=snakemake.input.get("adapter"))
log.info("exported %s (adapter: %s) to %s", snakemake.input.model, snakemake.input.get("adapter"), snakemake.output[0])
