"""Tokenize Java snippets (JSONL records) into fixed-length causal-LM blocks."""

from lmtune.core import atomic
from lmtune.core.blocks import predicted_tokens, tokenize_to_dataset
from lmtune.pipeline.jobs import start_job
from lmtune.core.jsonl import read_jsonl
from lmtune.core.models import load_tokenizer

log = start_job(snakemake)
tokenizer = load_tokenizer(snakemake.input.model)
snippets = [record["code"] for record in read_jsonl(snakemake.input.snippets)]
dataset = tokenize_to_dataset(snippets, tokenizer, int(snakemake.wildcards.block_size), source=snakemake.input.snippets)
log.info("%d blocks, %d predicted tokens", len(dataset), predicted_tokens(dataset))
with atomic.directory(snakemake.output[0]) as tmp:
    dataset.save_to_disk(str(tmp))
