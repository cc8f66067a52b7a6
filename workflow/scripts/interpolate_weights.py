"""θ(α) = (1 − α)·start + α·end, written as a model folder (WiSE-FT): no training."""

from lmtune.pipeline.jobs import start_job
from lmtune.study.interpolation import write_interpolated_model

log = start_job(snakemake)
write_interpolated_model(snakemake.input.start, snakemake.input.end, snakemake.params.alpha, snakemake.output[0])
log.info("alpha %s between %s and %s", snakemake.params.alpha, snakemake.input.start, snakemake.input.end)
