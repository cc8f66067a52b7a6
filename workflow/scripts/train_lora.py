"""Train a LoRA adapter (optionally on a 4-bit base) with loss on the answers only."""

import datasets

from lmtune.core.completions import padding_collator
from lmtune.core.jobs import job_identity, start_job
from lmtune.core.adapters import add_lora, load_base
from lmtune.core.models import load_tokenizer
from lmtune.core.training import TrainSettings, train_causal_lm

log = start_job(snakemake)
lora, compute = snakemake.params.lora, snakemake.params.compute
tokenizer = load_tokenizer(snakemake.input.model)
model = add_lora(
    load_base(snakemake.input.model, compute["device"], compute["precision"], lora["quantize_4bit"]),
    lora,
    quantized=lora["quantize_4bit"],
    seed=snakemake.params.seed,
)
model.print_trainable_parameters()
summary = train_causal_lm(
    model=model,
    tokenizer=tokenizer,
    train_data=datasets.load_from_disk(snakemake.input.tokens),
    out_dir=snakemake.output.adapter,
    loss_log=snakemake.output.loss_log,
    checkpoint_dir=snakemake.params.checkpoint_dir,
    settings=TrainSettings.from_config(snakemake.params.settings),
    seed=snakemake.params.seed,
    device=compute["device"],
    precision=compute["precision"],
    name="the arithmetic LoRA",
    identity=job_identity(snakemake),
    data_collator=padding_collator(tokenizer),
    group_by_length=True,
)
log.info("done: %s", summary)
