"""The study table: one row per branch (the settings it changes, every headline metric
and its change against the base), as CSV and Markdown; a figure per swept setting."""

from lmtune.pipeline.jobs import start_job
from lmtune.study.headline import headline_metrics_of
from lmtune.study.plots import plot_setting
from lmtune.study.sweeps import Branch
from lmtune.study.table import study_table, write_study_table

log = start_job(snakemake)
branches = [Branch(**branch) for branch in snakemake.params.branches]
metrics = {branch_id: headline_metrics_of(files) for branch_id, files in snakemake.params.metrics_files.items()}
base = snakemake.params.base
table = study_table(base, branches, metrics)
write_study_table(table, snakemake.output.table, snakemake.output.markdown)
for setting, path in zip(snakemake.params.settings, snakemake.output.plots, strict=True):
    plot_setting(branches, base, metrics, setting, path)
log.info("%d branches, %d columns", len(table), len(table.columns))
