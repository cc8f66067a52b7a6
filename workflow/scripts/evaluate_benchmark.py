"""One model on one benchmark task, through lm-evaluation-harness: the task's figures."""

from lmtune.core import atomic
from lmtune.core.benchmarks import BenchmarkTask, evaluate_task
from lmtune.pipeline.jobs import start_job

log = start_job(snakemake)
compute = snakemake.params.compute
task = BenchmarkTask(**snakemake.params.task)
figures = evaluate_task(snakemake.input.model, task, compute["device"], compute["precision"], snakemake.params.batch_size)
log.info("%s on %s: %s %s", snakemake.input.model, task.name, figures["metric"], figures["score"])
atomic.write_json(snakemake.output[0], figures)
