"""Greedy answers of one model (base or LoRA-tuned) to every evaluation prompt; the
score rule judges them."""

from lmtune.core.generation import answer_instructions
from lmtune.pipeline.jobs import job_model, start_job
from lmtune.core.jsonl import read_jsonl, write_jsonl
from lmtune.core.stopping import first_line_end

log = start_job(snakemake)
model, tokenizer = job_model(snakemake)

sets = {name: read_jsonl(path) for name, path in zip(snakemake.params.eval_sets, snakemake.input.prompts)}
examples = [(name, example) for name, set_examples in sets.items() for example in set_examples]
# Every set in one call: fewer, fuller batches (a decoding step of a batch costs little
# more than one of a single prompt on a CPU).
outputs = answer_instructions(
    model, tokenizer, [example["prompt"] for _, example in examples], snakemake.params.max_new_tokens,
    snakemake.params.batch_size, answer_end=first_line_end,  # an answer is one line; the base model rambles on
)
records = [
    {
        "set": name, "kind": example["kind"], "prompt": example["prompt"], "target": example["target"],
        "output": output,
    }
    for (name, example), output in zip(examples, outputs)
]
for name, set_examples in sets.items():
    log.info("%s: %d prompts", name, len(set_examples))
write_jsonl(snakemake.output[0], records)
