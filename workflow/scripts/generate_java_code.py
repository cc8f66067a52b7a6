"""Code for every test instruction from one model, greedy or `samples` drawn per
instruction; the score rule judges each."""

from lmtune.core.generation import Sampling, answer_instructions
from lmtune.pipeline.jobs import job_model, start_job
from lmtune.core.jsonl import read_jsonl, write_jsonl
from lmtune.core.stopping import first_block_end

log = start_job(snakemake)
model, tokenizer = job_model(snakemake)

settings = snakemake.params.sampling
samples = settings["samples"]
# Temperature 0 is greedy decoding, one answer per task (the load-time check holds samples at 1).
sampling = Sampling(settings["temperature"], settings["top_p"], settings["seed"]) if settings["temperature"] > 0 else None
splits = {split: read_jsonl(path) for split, path in zip(snakemake.params.splits, snakemake.input.tasks)}
tasks = [(split, task) for split, split_tasks in splits.items() for task in split_tasks for _ in range(samples)]
# Every split in one call: fewer, fuller batches (a decoding step of a batch costs little
# more than one of a single prompt on a CPU).
outputs = answer_instructions(
    model, tokenizer, [task["prompt"] for _, task in tasks], snakemake.params.max_new_tokens,
    snakemake.params.batch_size, answer_end=first_block_end,  # the first method is the answer; base models ramble on
    sampling=sampling,
)
records = [
    {
        "split": split, "family": task["family"], "instruction": task["prompt"], "reference": task["completion"],
        "generated": output.strip("\n"),
        # Only with several samples: one answer per task keeps the records it always had.
        **({"sample": index % samples} if samples > 1 else {}),
    }
    for index, ((split, task), output) in enumerate(zip(tasks, outputs))
]
for split, split_tasks in splits.items():
    log.info("%s: %d instructions, %d sample(s) each", split, len(split_tasks), samples)
write_jsonl(snakemake.output[0], records)
