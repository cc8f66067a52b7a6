"""One model on one benchmark task, through lm-evaluation-harness: the task's figures."""

from lmtune.core import atomic
from lmtune.core.benchmarks import BenchmarkTask, evaluate_task
from lmtune.pipeline.jobs import job_model, start_job

log = start_job(snakemake)
compute = snakemake.params.compute
task = BenchmarkTask(**snakemake.params.task)
# lm-eval loads a model folder itself; an adapter goes on its base as every job puts it.
loaded = job_model(snakemake) if snakemake.input.get("adapter") else None
figures = evaluate_task(
    snakemake.input.model, task, compute["device"], compute["precision"], snakemake.params.batch_size, loaded
)
log.info("%s on %s: %s %s", snakemake.input.model, task.name, figures["metric"], figures["score"])
atomic.write_json(snakemake.output[0], figures)
