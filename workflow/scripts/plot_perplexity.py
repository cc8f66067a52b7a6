"""Plot perplexity per domain across stages."""

import json
from pathlib import Path

from lmtune.jobs import start_job
from lmtune.plots import plot_perplexity

start_job(snakemake)
plot_perplexity(json.loads(Path(snakemake.input[0]).read_text()), snakemake.output[0])
