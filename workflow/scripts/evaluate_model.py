"""Loss and perplexity of one model on one or more token sets (each domain's test split,
or the held-out Java snippets): the model is loaded once."""

from lmtune.core import atomic
from lmtune.core.blocks import load_blocks
from lmtune.core.evaluation import evaluate_lm
from lmtune.pipeline.jobs import start_job
from lmtune.core.adapters import load_for_inference

log = start_job(snakemake)
compute = snakemake.params.compute
model = load_for_inference(snakemake.input.model, compute["device"], compute["precision"])
for tokens, output in zip(snakemake.input.tokens, snakemake.output, strict=True):
    result = evaluate_lm(model, load_blocks(tokens, snakemake.params.get("block_size")), snakemake.params.batch_size)
    log.info("%s on %s: %s", snakemake.input.model, tokens, result)
    atomic.write_json(output, result.to_dict())
