"""Tokenize both sides of one domain's split into token stores (blocks are cut at load)."""

from lmtune.pipeline.jobs import job_tokenizer, start_job
from lmtune.core.splits import Split
from lmtune.core.tokenstore import set_tokenizer_threads, tokenize_split

log = start_job(snakemake)
set_tokenizer_threads(snakemake.threads)
tokenizer = job_tokenizer(snakemake)
tokenize_split(
    Split.read(snakemake.input.split),
    tokenizer,
    {"train": snakemake.output.train, "test": snakemake.output.test},
    max_test_tokens=snakemake.params.max_test_tokens,
)
