"""Plot the training loss of every phase."""

from lmtune.jobs import start_job
from lmtune.plots import plot_training_loss

start_job(snakemake)
plot_training_loss(dict(zip(snakemake.params.phases, snakemake.input)), snakemake.output[0])
