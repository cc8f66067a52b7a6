"""Greedy answers of one model (base or LoRA-tuned) to every evaluation prompt; the
score rule judges them."""

from lmtune.core.generation import answer_instructions
from lmtune.core.jobs import job_model, start_job
from lmtune.core.jsonl import read_jsonl, write_jsonl
from lmtune.core.stopping import first_line_end

log = start_job(snakemake)
model, tokenizer = job_model(snakemake)

records = []
for eval_set, path in zip(snakemake.params.eval_sets, snakemake.input.prompts):
    examples = read_jsonl(path)
    outputs = answer_instructions(
        model, tokenizer, [e["prompt"] for e in examples], snakemake.params.max_new_tokens, snakemake.params.batch_size,
        answer_end=first_line_end,  # an answer is one line; the base model rambles on
    )
    for example, output in zip(examples, outputs):
        records.append({
            "set": eval_set, "kind": example["kind"], "prompt": example["prompt"], "target": example["target"],
            "output": output,
        })
    log.info("%s: %d prompts", eval_set, len(examples))
write_jsonl(snakemake.output[0], records)
