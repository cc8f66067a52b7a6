"""Generate the arithmetic training set and its evaluation prompts as JSONL: prompt/completion
records (lmtune.instruct.data's format) with their target and kind; prompts without a reference
answer have an empty completion."""

from lmtune.arithmetic.tasks import generate_datasets
from lmtune.pipeline.jobs import start_job
from lmtune.core.jsonl import write_jsonl

log = start_job(snakemake)
for name, examples in generate_datasets(snakemake.params.settings).items():
    log.info("%s: %d examples", name, len(examples))
    write_jsonl(snakemake.output[name], (example.to_dict() for example in examples))
