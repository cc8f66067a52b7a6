"""Greedy code for every test instruction from one model; the score rule judges it."""

from lmtune.core.generation import answer_instructions
from lmtune.pipeline.jobs import job_model, start_job
from lmtune.core.jsonl import read_jsonl, write_jsonl
from lmtune.core.stopping import first_block_end

log = start_job(snakemake)
model, tokenizer = job_model(snakemake)

splits = {split: read_jsonl(path) for split, path in zip(snakemake.params.splits, snakemake.input.tasks)}
tasks = [(split, task) for split, split_tasks in splits.items() for task in split_tasks]
# Every split in one call: fewer, fuller batches (a decoding step of a batch costs little
# more than one of a single prompt on a CPU).
outputs = answer_instructions(
    model, tokenizer, [task["prompt"] for _, task in tasks], snakemake.params.max_new_tokens,
    snakemake.params.batch_size, answer_end=first_block_end,  # the first method is the answer; base models ramble on
)
records = [
    {
        "split": split, "family": task["family"], "instruction": task["prompt"], "reference": task["completion"],
        "generated": output.strip("\n"),
    }
    for (split, task), output in zip(tasks, outputs)
]
for split, split_tasks in splits.items():
    log.info("%s: %d instructions", split, len(split_tasks))
write_jsonl(snakemake.output[0], records)
