"""Loss and perplexity of the fine-tuned model on the tokenized validation examples: the
answers' tokens only (the prompt is masked), each batch padded to its longest."""

import datasets

from lmtune.core import atomic
from lmtune.core.completions import padding_collator
from lmtune.core.evaluation import evaluate_lm
from lmtune.pipeline.jobs import job_model, start_job

log = start_job(snakemake)
model, tokenizer = job_model(snakemake)
dataset = datasets.load_from_disk(snakemake.input.tokens).remove_columns("length")
result = evaluate_lm(model, dataset, snakemake.params.batch_size, collate=padding_collator(tokenizer))
log.info("validation: %s", result)
atomic.write_json(snakemake.output[0], result.to_dict())
