"""Tokenize one split into fixed-length causal-LM blocks saved with `datasets`."""

from lmtune.core import atomic
from lmtune.core.blocks import predicted_tokens, tokenize_to_dataset
from lmtune.continual.corpus import read_corpus, split_paragraphs
from lmtune.pipeline.jobs import start_job
from lmtune.core.models import load_tokenizer

log = start_job(snakemake)
tokenizer = load_tokenizer(snakemake.input.model)
paragraphs = split_paragraphs(read_corpus(snakemake.input.text))
dataset = tokenize_to_dataset(
    paragraphs, tokenizer, int(snakemake.wildcards.block_size), source=snakemake.input.text
)
log.info("%d blocks, %d predicted tokens", len(dataset), predicted_tokens(dataset))
with atomic.directory(snakemake.output[0]) as tmp:
    dataset.save_to_disk(str(tmp))
