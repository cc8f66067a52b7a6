"""Generate the comment-to-code pairs and their two test splits as JSONL: prompt/completion
records (lmtune.instruct.data's format), each with its task family."""

from lmtune.java.tasks import generate_tasks
from lmtune.pipeline.jobs import start_job
from lmtune.core.jsonl import write_jsonl

log = start_job(snakemake)
for name, tasks in generate_tasks(snakemake.params.settings).items():
    log.info("%s: %d pairs", name, len(tasks))
    write_jsonl(snakemake.output[name], ({"prompt": t.instruction, "completion": t.code, "family": t.family} for t in tasks))
