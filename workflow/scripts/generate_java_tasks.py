"""Generate the comment-to-code pairs and their two test splits as JSONL."""

import json

from lmtune import atomic
from lmtune.java_tasks import generate_tasks
from lmtune.jobs import start_job

log = start_job(snakemake)
for name, tasks in generate_tasks(snakemake.params.settings).items():
    log.info("%s: %d pairs", name, len(tasks))
    lines = [json.dumps({"prompt": t.instruction, "answer": t.code, "family": t.family}, ensure_ascii=False) for t in tasks]
    atomic.write_text(snakemake.output[name], "\n".join(lines) + "\n")
