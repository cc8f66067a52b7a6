"""The headline metrics: the few figures each experiment is judged by.

Each experiment declares its own (lmtune.core.declaration: `metrics_file`, `headline`),
read from its metrics file under a results folder and named
`<experiment>/<model or strategy>/[<set>/]<measure>`:

| experiment | file | per | measures |
| --- | --- | --- | --- |
| continual | `continual/summary.json` | strategy (mean over seeds) | `forgetting_<d>` of each earlier domain, `learning_<last>`, `final_average_loss` (losses: lower is better, except learning) |
| arithmetic | `arithmetic/metrics.json` | model, evaluation set | `exact_sum_rate`, `well_formed_rate`, `mean_absolute_error` |
| java | `java/metrics.json` | model, test split | `exact_match`, `syntax_rate`, `signature_rate`, `functional_accuracy` |
| instruct | `instruct/metrics.json` | (the one model) | `eval_loss` on the validation split, generation `exact_match` and `chrf` |

A measure that could not be computed is None (a Java level without a JDK), never 0.
"""

from __future__ import annotations

import json
from pathlib import Path

from lmtune.experiments import registry


def headline_metrics(results: str | Path) -> dict[str, float | None]:
    """Every headline metric of a results folder, for the experiments it has files of."""
    metrics = {}
    for experiment in registry().values():
        path = Path(results) / experiment.metrics_file
        if path.exists():
            metrics.update(experiment.headline(json.loads(path.read_text())))
    return metrics
