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
    files = {name: Path(results) / experiment.metrics_file for name, experiment in registry().items()}
    return headline_metrics_of({name: path for name, path in files.items() if path.exists()})


def headline_metrics_of(files: dict[str, str | Path]) -> dict[str, float | None]:
    """Every headline metric of a run whose experiments' metrics files are `files`
    (experiment -> file; in a study, a file may lie in another run's folder)."""
    metrics = {}
    for name, path in files.items():
        metrics.update(registry()[name].headline(json.loads(Path(path).read_text())))
    return metrics


def metrics_file_in(experiment_folder: str, experiment: str) -> str:
    """Where an experiment's headline metrics file lies in a folder of its results."""
    return str(Path(experiment_folder) / Path(registry()[experiment].metrics_file).relative_to(experiment))
