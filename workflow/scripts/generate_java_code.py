"""Greedy code for every test instruction from one model; the score rule judges it."""

from lmtune.core.generation import answer_instructions
from lmtune.core.jobs import job_model, start_job
from lmtune.core.jsonl import read_jsonl, write_jsonl
from lmtune.core.stopping import first_block_end

log = start_job(snakemake)
model, tokenizer = job_model(snakemake)

records = []
for split, path in zip(snakemake.params.splits, snakemake.input.tasks):
    tasks = read_jsonl(path)
    outputs = answer_instructions(
        model, tokenizer, [t["prompt"] for t in tasks], snakemake.params.max_new_tokens, snakemake.params.batch_size,
        answer_end=first_block_end,  # the first method is the answer; base models ramble on
    )
    for task, output in zip(tasks, outputs):
        records.append({
            "split": split, "family": task["family"], "instruction": task["prompt"], "reference": task["completion"],
            "generated": output.strip("\n"),
        })
    log.info("%s: %d instructions", split, len(tasks))
write_jsonl(snakemake.output[0], records)
