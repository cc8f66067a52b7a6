"""One continual pre-training phase under a strategy against forgetting (lmtune.continual.strategies)."""

import datasets

from lmtune.core.jobs import job_identity, start_job
from lmtune.core.adapters import add_lora
from lmtune.core.models import load_model, load_tokenizer
from lmtune.continual.strategies import WeightAnchor, diagonal_fisher, replay_mix
from lmtune.core.training import TrainSettings, train_causal_lm

log = start_job(snakemake)
strategy = snakemake.params.strategy
method = strategy["method"]
seed = int(snakemake.wildcards.seed)
settings = TrainSettings.from_config(snakemake.params.settings)
compute = snakemake.params.compute
log.info("phase %s, strategy %s (%s), seed %d: %s", snakemake.wildcards.phase, snakemake.wildcards.strategy, strategy, seed, settings)

model = load_model(snakemake.input.model, device=compute["device"])
tokenizer = load_tokenizer(snakemake.input.model)
train_data = datasets.load_from_disk(snakemake.input.tokens)
penalty = None
if method == "replay":
    earlier = [datasets.load_from_disk(path) for path in snakemake.input.earlier_tokens]
    train_data = replay_mix(train_data, earlier, strategy["fraction"], seed)
elif method == "l2sp":
    penalty = WeightAnchor(model, strategy["weight"])
elif method == "ewc" and snakemake.input.earlier_tokens:
    previous_domain = datasets.load_from_disk(snakemake.input.earlier_tokens[-1])
    fisher = diagonal_fisher(model, previous_domain, strategy["fisher_samples"], seed)
    penalty = WeightAnchor(model, strategy["weight"], importance=fisher)
elif method == "lora":
    model = add_lora(model, strategy, quantized=False, seed=seed)

summary = train_causal_lm(
    model=model,
    tokenizer=tokenizer,
    train_data=train_data,
    out_dir=snakemake.output.model,
    loss_log=snakemake.output.loss_log,
    checkpoint_dir=snakemake.params.checkpoint_dir,
    settings=settings,
    seed=seed,
    device=compute["device"],
    precision=compute["precision"],
    name=f"phase {snakemake.wildcards.phase} ({snakemake.wildcards.strategy}, seed {seed})",
    identity=job_identity(snakemake),
    penalty=penalty,
    merge_adapter=method == "lora",
)
log.info("done: %s", summary)
