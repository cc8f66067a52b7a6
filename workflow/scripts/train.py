"""Every training job: the recipe in the job's params (lmtune.recipe.TrainingSpec) run on
its input model and data."""

from lmtune.core.jobs import job_identity, start_job
from lmtune.recipe import TrainingSpec, train

log = start_job(snakemake)
summary = train(
    TrainingSpec.from_dict(snakemake.params.spec),
    model=snakemake.input.model,
    data=snakemake.input.tokens,
    earlier_data=snakemake.input.get("earlier_tokens", []),
    out_dir=snakemake.output.model,
    loss_log=snakemake.output.loss_log,
    checkpoint_dir=snakemake.params.checkpoint_dir,
    identity=job_identity(snakemake),
)
log.info("done: %s", summary)
