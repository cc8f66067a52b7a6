"""Tokenize Java snippets (JSONL records) into a token store (blocks are cut at load)."""

from lmtune.core.jsonl import read_jsonl
from lmtune.core.tokenstore import set_tokenizer_threads, tokenize_documents
from lmtune.pipeline.jobs import job_tokenizer, start_job

log = start_job(snakemake)
set_tokenizer_threads(snakemake.threads)
tokenizer = job_tokenizer(snakemake)
snippets = [record["code"] for record in read_jsonl(snakemake.input.snippets)]
tokenize_documents(snippets, tokenizer, snakemake.output[0], label=snakemake.input.snippets)
