"""The results folder's run record (run.json): the resolved config, the code's commit and
whether it had uncommitted changes, package versions, the machine, and every job's wall
time and peak memory; and the per-rule times as a table for the report."""

from pathlib import Path

from lmtune.core import atomic
from lmtune.pipeline.jobs import start_job
from lmtune.study.record import read_benchmarks, rule_times, write_run_record

log = start_job(snakemake)
results = Path(snakemake.output.record).parent
path = write_run_record(results, snakemake.params.config, snakemake.params.repo, snakemake.params.metrics_files)
atomic.write_text(snakemake.output.times, rule_times(read_benchmarks(results / "benchmarks")).to_csv(index=False))
log.info("wrote %s", path)
