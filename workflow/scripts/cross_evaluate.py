"""Loss of one final model on every experiment's held-out set."""

from lmtune.core import atomic
from lmtune.cross import evaluate_everywhere
from lmtune.core.jobs import start_job
from lmtune.core.adapters import load_for_inference
from lmtune.core.models import load_tokenizer

log = start_job(snakemake)
compute = snakemake.params.compute
tokenizer = load_tokenizer(snakemake.input.model)
model = load_for_inference(
    snakemake.input.model, compute["device"], compute["precision"],
    adapter=snakemake.input.get("adapter"), quantize_4bit=snakemake.params.quantize_4bit,
)
results = evaluate_everywhere(model, tokenizer, snakemake.params.sets, snakemake.params.batch_size)
atomic.write_json(snakemake.output[0], results)
