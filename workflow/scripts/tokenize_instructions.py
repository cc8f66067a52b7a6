"""Tokenize prompt/answer pairs for completion-only training (prompt masked)."""

from lmtune.core import atomic
from lmtune.core.completions import encode_examples
from lmtune.core.jobs import start_job
from lmtune.core.jsonl import read_jsonl
from lmtune.core.models import load_tokenizer

log = start_job(snakemake)
tokenizer = load_tokenizer(snakemake.input.model)
records = read_jsonl(snakemake.input.examples)
dataset = encode_examples(tokenizer, [(r["prompt"], r["answer"]) for r in records], snakemake.params.separator)
log.info("%d examples, %d tokens, longest %d", len(dataset), sum(dataset["length"]), max(dataset["length"]))
with atomic.directory(snakemake.output[0]) as tmp:
    dataset.save_to_disk(str(tmp))
