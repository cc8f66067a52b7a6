"""Train one continual pre-training phase, starting from the previous phase's model."""

from lmtune.blocks import load_blocks
from lmtune.jobs import start_job
from lmtune.models import load_model, load_tokenizer
from lmtune.training import TrainSettings, train_causal_lm

log = start_job(snakemake)
settings = TrainSettings.from_config(snakemake.params.settings)
log.info("phase %s: %s", snakemake.wildcards.phase, settings)
summary = train_causal_lm(
    model=load_model(snakemake.input.model, device=snakemake.params.compute["device"]),
    tokenizer=load_tokenizer(snakemake.input.model),
    train_data=load_blocks(snakemake.input.tokens),
    out_dir=snakemake.output.model,
    loss_log=snakemake.output.loss_log,
    checkpoint_dir=snakemake.params.checkpoint_dir,
    settings=settings,
    seed=snakemake.params.seed,
    device=snakemake.params.compute["device"],
    precision=snakemake.params.compute["precision"],
)
log.info("done: %s", summary)
