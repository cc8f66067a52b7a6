"""Every saved generation judged (exact match; compiles, defines the asked-for method,
runs like the reference), metrics per model and test split, held-out LM figures,
examples and a plot. Reads only the generations: rescoring needs no model."""

import json
from pathlib import Path

from lmtune.core import atomic, sandbox
from lmtune.java.checks import NEEDS_BUBBLEWRAP, OPT_IN, judge_generations
from lmtune.java.tasks import examples_table, score_generations
from lmtune.java.javac import find_jdk
from lmtune.pipeline.jobs import start_job
from lmtune.core.jsonl import read_jsonl, write_jsonl
from lmtune.java.plots import plot_java_accuracy

log = start_job(snakemake)
java = find_jdk()
allow_unshare = snakemake.params.allow_without_filesystem_isolation
box = sandbox.code_sandbox(allow_unshare)
if java is None:
    log.warning("no JDK found: the syntax, signature and functional levels are recorded as not measured (null)")
elif box is None:
    log.warning("%s", NEEDS_BUBBLEWRAP)
elif not box.isolates_files:
    log.warning("%s is true and bubblewrap cannot run here: model-written code runs under unshare (no network, "
                "own processes, limits) and can read and write the files of the user who runs the workflow", OPT_IN)
else:
    log.info("judging with %s in the %s sandbox, %d at a time", java, box.kind, snakemake.threads)
generations = {variant: read_jsonl(path) for variant, path in zip(snakemake.params.variants, snakemake.input.generations)}
# One batch for every model: one compiler JVM, one for the references, one per generation.
batch = [r for records in generations.values() for r in records]
judged_all = iter(judge_generations(batch, java, workers=snakemake.threads, allow_without_filesystem_isolation=allow_unshare))
judged = {variant: [next(judged_all) for _ in records] for variant, records in generations.items()}
for variant, path in zip(judged, snakemake.output.scored):
    write_jsonl(path, judged[variant])
metrics = {
    "generation": {variant: score_generations(records) for variant, records in judged.items()},
    "heldout_lm": {
        name: json.loads(Path(path).read_text()) for name, path in zip(snakemake.params.lm_models, snakemake.input.lm_evals)
    },
}
log.info("%s", metrics)
atomic.write_json(snakemake.output.metrics, metrics)
atomic.write_text(snakemake.output.examples, examples_table(judged, snakemake.params.examples_per_split))
plot_java_accuracy(metrics["generation"], snakemake.output.plot)
