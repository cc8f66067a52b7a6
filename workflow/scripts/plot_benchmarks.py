"""The benchmark tasks' score matrix: each task's score after each stage, per strategy."""

import json
from pathlib import Path

from lmtune.continual.plots import plot_score_matrix
from lmtune.pipeline.jobs import start_job

start_job(snakemake)
plot_score_matrix(json.loads(Path(snakemake.input.summary).read_text()), snakemake.output[0])
