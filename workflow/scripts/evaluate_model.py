"""Loss and perplexity of one model on one domain's test split."""

from lmtune import atomic
from lmtune.blocks import load_blocks
from lmtune.evaluation import evaluate_lm
from lmtune.jobs import start_job
from lmtune.models import load_model

log = start_job(snakemake)
compute = snakemake.params.compute
model = load_model(snakemake.input.model, device=compute["device"], precision=compute["precision"])
result = evaluate_lm(model, load_blocks(snakemake.input.tokens), snakemake.params.batch_size)
log.info("%s", result)
atomic.write_json(snakemake.output[0], result.to_dict())
