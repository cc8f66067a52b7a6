"""Greedy answers of the fine-tuned model to every validation example: its prompt, or for
a conversation the turns before its last assistant turn; that turn, or the completion,
is the reference the score rule compares with."""

from lmtune.core.generation import answer_instructions
from lmtune.pipeline.jobs import job_model, start_job
from lmtune.core.jsonl import write_jsonl
from lmtune.instruct.data import Conversation, read_examples

log = start_job(snakemake)
model, tokenizer = job_model(snakemake)
examples = read_examples(snakemake.input.examples)
outputs = answer_instructions(
    model, tokenizer, [e.query for e in examples], snakemake.params.max_new_tokens, snakemake.params.batch_size,
    chat=isinstance(examples[0], Conversation),
)
write_jsonl(snakemake.output[0], ({"query": e.query, "reference": e.reference, "generated": o} for e, o in zip(examples, outputs)))
log.info("%d answers", len(outputs))
