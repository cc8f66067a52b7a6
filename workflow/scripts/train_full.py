"""Fully fine-tune a causal LM on token blocks or on prompt/answer examples."""

import datasets

from lmtune.core.completions import padding_collator
from lmtune.core.jobs import job_identity, start_job
from lmtune.core.models import load_model, load_tokenizer
from lmtune.core.training import TrainSettings, train_causal_lm

log = start_job(snakemake)
settings = TrainSettings.from_config(snakemake.params.settings)
compute = snakemake.params.compute
log.info("%s: %s", snakemake.rule, settings)
tokenizer = load_tokenizer(snakemake.input.model)
# Instruction examples vary in length: pad per batch and batch by length. Blocks are
# all one length already.
instructions = snakemake.params.data == "instructions"
summary = train_causal_lm(
    model=load_model(snakemake.input.model, device=compute["device"]),
    tokenizer=tokenizer,
    train_data=datasets.load_from_disk(snakemake.input.tokens),
    out_dir=snakemake.output.model,
    loss_log=snakemake.output.loss_log,
    checkpoint_dir=snakemake.params.checkpoint_dir,
    settings=settings,
    seed=snakemake.params.seed,
    device=compute["device"],
    precision=compute["precision"],
    name=" ".join([snakemake.rule, *snakemake.wildcards]),
    identity=job_identity(snakemake),
    data_collator=padding_collator(tokenizer) if instructions else None,
    group_by_length=instructions,
)
log.info("done: %s", summary)
