"""Generate the arithmetic training set and its evaluation prompts as JSONL."""

import json

from lmtune import atomic
from lmtune.arithmetic import generate_datasets
from lmtune.jobs import start_job

log = start_job(snakemake)
sets = generate_datasets(snakemake.params.settings)
for name, examples in sets.items():
    log.info("%s: %d examples", name, len(examples))
    lines = [json.dumps(example.to_dict(), ensure_ascii=False) for example in examples]
    atomic.write_text(snakemake.output[name], "\n".join(lines) + "\n")
