"""Java metrics per model and test split, held-out LM figures, examples and a plot."""

import json
from pathlib import Path

from lmtune import atomic
from lmtune.java_tasks import examples_table, score_generations
from lmtune.jobs import start_job
from lmtune.jsonl import read_jsonl
from lmtune.plots import plot_java_accuracy

log = start_job(snakemake)
generations = {variant: read_jsonl(path) for variant, path in zip(snakemake.params.variants, snakemake.input.generations)}
metrics = {
    "generation": {variant: score_generations(records) for variant, records in generations.items()},
    "heldout_lm": {
        name: json.loads(Path(path).read_text()) for name, path in zip(snakemake.params.lm_models, snakemake.input.lm_evals)
    },
}
log.info("%s", metrics)
atomic.write_json(snakemake.output.metrics, metrics)
atomic.write_text(snakemake.output.examples, examples_table(generations, snakemake.params.examples_per_split))
plot_java_accuracy(metrics["generation"], snakemake.output.plot)
