"""Every training job: the recipe in the job's params (lmtune.core.training_spec.TrainingSpec) run on
its input model and data, in as many data-parallel processes as it asks for."""

from lmtune.core.adapters import unused_libraries
from lmtune.core.distributed import run_data_parallel
from lmtune.core.process import leave_out
from lmtune.pipeline.jobs import checkpoint_key, start_job
from lmtune.recipe import TrainingSpec, train

log = start_job(snakemake)
spec = TrainingSpec.from_dict(snakemake.params.spec)
leave_out(unused_libraries(adapter=spec.adapter is not None, quantized=spec.quantized))
summary = run_data_parallel(
    train,
    spec,
    snakemake.input.model,
    snakemake.input.tokens,
    snakemake.output.model,
    snakemake.output.loss_log,
    snakemake.params.checkpoint_dir,
    snakemake.input.get("earlier_tokens", []),
    checkpoint_key(snakemake),
    processes=spec.processes,
    device=spec.device,
    threads_per_process=max(1, snakemake.threads // spec.processes),
)
log.info("done: %s", summary)
