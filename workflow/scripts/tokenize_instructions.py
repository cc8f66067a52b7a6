"""Tokenize instruction data (prompt/completion or chat records, lmtune.instruct.data) for
completion-only training: the loss on the answers only. The rule's `encoding` param holds
encode_for_training's settings (max_length, overlong, separator); what the length limit did
is counted in the log."""

from lmtune.core import atomic
from lmtune.pipeline.jobs import job_tokenizer, start_job
from lmtune.instruct.data import read_examples
from lmtune.instruct.encoding import encode_for_training

log = start_job(snakemake)
tokenizer = job_tokenizer(snakemake)
dataset, counts = encode_for_training(tokenizer, read_examples(snakemake.input.examples), **snakemake.params.encoding)
log.info("%d examples, %d tokens, longest %d", len(dataset), sum(dataset["length"]), max(dataset["length"]))
with atomic.directory(snakemake.output[0]) as tmp:
    dataset.save_to_disk(str(tmp))
