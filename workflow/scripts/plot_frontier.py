"""The forgetting-learning frontier: every strategy's point (means over seeds) and each
weight-interpolation curve, measured against the interpolated run's loss matrix."""

import json
from pathlib import Path

from lmtune.core import atomic
from lmtune.pipeline.jobs import start_job
from lmtune.study.interpolation import frontier_points, strategy_points
from lmtune.study.plots import plot_frontier

log = start_job(snakemake)
order = snakemake.params.order
loss_matrix = json.loads(Path(snakemake.input.run).read_text())["continual"]["loss_matrix"]
curves = {
    label: frontier_points(
        {alpha: {domain: json.loads(Path(path).read_text()) for domain, path in files.items()} for alpha, files in points},
        loss_matrix,
        order,
    )
    for label, points in snakemake.params.curves.items()
}
strategies = strategy_points(json.loads(Path(snakemake.input.summary).read_text()))
plot_frontier(strategies, curves, order, snakemake.output.plot)
atomic.write_json(snakemake.output.points, {"run": snakemake.params.run, "strategies": strategies, "curves": curves})
log.info("strategies %s; curves %s", strategies, {label: [(p["alpha"], p["forgetting"], p["learning"]) for p in points] for label, points in curves.items()})
