"""The headline metrics: the few figures each experiment is judged by, in one place.

Each is read from the experiment's metrics file under a results folder and named
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

ARITHMETIC_MEASURES = ("exact_sum_rate", "well_formed_rate", "mean_absolute_error")
JAVA_MEASURES = ("exact_match", "syntax_rate", "signature_rate", "functional_accuracy")


def continual_headline(summary: dict) -> dict[str, float | None]:
    """From `summarise_runs`' summary: forgetting of each earlier domain, learning of the
    last, the final average loss; each strategy's mean over its seeds."""
    order = summary["order"]
    names = [f"forgetting_{domain}" for domain in order[:-1]] + [f"learning_{order[-1]}", "final_average_loss"]
    return {
        f"continual/{strategy}/{name}": figures["measures"][name]["mean"]
        for strategy, figures in summary["strategies"].items()
        for name in names
    }


def arithmetic_headline(metrics: dict) -> dict[str, float | None]:
    """From score_arithmetic's metrics: model -> evaluation set -> figures."""
    return {
        f"arithmetic/{variant}/{eval_set}/{name}": figures[name]
        for variant, sets in metrics.items()
        for eval_set, figures in sets.items()
        for name in ARITHMETIC_MEASURES
    }


def java_headline(metrics: dict) -> dict[str, float | None]:
    """From score_java's metrics: `generation` -> model -> split -> figures."""
    return {
        f"java/{variant}/{split}/{name}": figures[name]
        for variant, splits in metrics["generation"].items()
        for split, figures in splits.items()
        for name in JAVA_MEASURES
    }


def instruct_headline(metrics: dict) -> dict[str, float | None]:
    """From score_instruct's metrics: validation loss, and the generation scores."""
    return {
        "instruct/eval_loss": metrics["validation"]["eval_loss"],
        "instruct/exact_match": metrics["generation"]["exact_match"],
        "instruct/chrf": metrics["generation"]["chrf"],
    }


# experiment -> (its metrics file under the results folder, its headline)
HEADLINES = {
    "continual": ("continual/summary.json", continual_headline),
    "arithmetic": ("arithmetic/metrics.json", arithmetic_headline),
    "java": ("java/metrics.json", java_headline),
    "instruct": ("instruct/metrics.json", instruct_headline),
}


def headline_metrics(results: str | Path) -> dict[str, float | None]:
    """Every headline metric of a results folder, for the experiments it has files of."""
    files = {name: Path(results) / file for name, (file, _) in HEADLINES.items()}
    return headline_metrics_of({name: path for name, path in files.items() if path.exists()})


def headline_metrics_of(files: dict[str, str | Path]) -> dict[str, float | None]:
    """Every headline metric of a run whose experiments' metrics files are `files`
    (experiment -> file; in a study, a file may lie in another run's folder)."""
    metrics = {}
    for name, path in files.items():
        metrics.update(HEADLINES[name][1](json.loads(Path(path).read_text())))
    return metrics


def metrics_file_in(experiment_folder: str, experiment: str) -> str:
    """Where an experiment's headline metrics file lies in a folder of its results."""
    return str(Path(experiment_folder) / Path(HEADLINES[experiment][0]).relative_to(experiment))
