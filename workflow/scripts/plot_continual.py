"""The continual experiment's figures: loss matrix, forgetting against learning,
perplexity per stage and training loss."""

import json
from pathlib import Path

from lmtune.pipeline.jobs import start_job
from lmtune.continual.plots import plot_forgetting_vs_learning, plot_loss_matrix, plot_perplexity, plot_training_loss

start_job(snakemake)
summary = json.loads(Path(snakemake.input.summary).read_text())
plot_loss_matrix(summary, snakemake.output.loss_matrix)
plot_forgetting_vs_learning(summary, snakemake.output.scatter)
plot_perplexity(summary, snakemake.output.perplexity)
runs = snakemake.params.loss_log_runs
plot_training_loss([(*run, path) for run, path in zip(runs, snakemake.input.loss_logs)], snakemake.output.train_loss)
