"""Greedy code for every test instruction from one model, checked by exact match and javac."""

from lmtune.generation import answer_instructions
from lmtune.java_tasks import normalise
from lmtune.javac import compile_methods, find_jdk
from lmtune.jobs import start_job
from lmtune.jsonl import read_jsonl, write_jsonl
from lmtune.models import load_model, load_tokenizer
from lmtune.stopping import first_block_end

log = start_job(snakemake)
compute = snakemake.params.compute
tokenizer = load_tokenizer(snakemake.input.model)
model = load_model(snakemake.input.model, device=compute["device"], precision=compute["precision"])
java = find_jdk()
if java is None:
    log.warning("no JDK found: compile rate is recorded as not measured (null)")

records = []
for split, path in zip(snakemake.params.splits, snakemake.input.tasks):
    tasks = read_jsonl(path)
    outputs = answer_instructions(
        model, tokenizer, [t["prompt"] for t in tasks], snakemake.params.max_new_tokens, snakemake.params.batch_size,
        answer_end=first_block_end,  # the first method is the answer; base models ramble on
    )
    code = [output.strip("\n") for output in outputs]
    compiled = compile_methods(code, java) if java else [None] * len(code)
    for task, generated, result in zip(tasks, code, compiled):
        records.append({
            "split": split, "family": task["family"], "instruction": task["prompt"], "reference": task["answer"],
            "generated": generated, "exact_match": normalise(generated) == normalise(task["answer"]),
            "compiles": None if result is None else result.compiled,
            "compile_error": None if result is None else result.message,
        })
    log.info("%s: %d instructions", split, len(tasks))
write_jsonl(snakemake.output[0], records)
