"""Loss of one final model on every experiment's held-out set."""

from lmtune.core import atomic
from lmtune.cross import evaluate_everywhere
from lmtune.core.jobs import start_job
from lmtune.core.adapters import load_adapted, load_base
from lmtune.core.models import load_tokenizer

log = start_job(snakemake)
compute = snakemake.params.compute
tokenizer = load_tokenizer(snakemake.input.model)
if snakemake.input.get("adapter"):
    model = load_adapted(snakemake.input.model, snakemake.input.adapter, compute["device"], compute["precision"], snakemake.params.quantize_4bit)
else:
    model = load_base(snakemake.input.model, compute["device"], compute["precision"], quantize_4bit=False)
results = evaluate_everywhere(model, tokenizer, snakemake.params.sets, snakemake.params.batch_size)
atomic.write_json(snakemake.output[0], results)
