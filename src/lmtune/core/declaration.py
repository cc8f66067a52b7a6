"""What an experiment declares to the rest of the project, in its package's `experiment`
module as `EXPERIMENT` (found by lmtune.experiments): its name, its place among the
experiments, its load-time checks, its training jobs, its
headline metrics and whether it is in the cross-experiment matrix. Its jobs are its rules
file's (workflow/rules/<name>.smk), which adds its final outputs to TARGETS and, where
it is in the matrix, its models and held-out sets to it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lmtune.core.training_spec import TrainingSpec


@dataclass(frozen=True)
class Experiment:
    name: str  # its config section, its rules file and its results folder
    order: int  # where it comes among the experiments: in the schema, the targets, the cross matrix
    # (the whole validated config, the working folder) -> None, or a ConfigError naming the
    # setting: what the schema cannot say (files readable, settings that agree).
    check: Callable[[dict, Path], None]
    # the validated config -> {dotted config key: spec} of every training job it plans
    # (first seed), for the load-time compute checks.
    training_specs: Callable[[dict], dict[str, TrainingSpec]]
    metrics_file: str  # the file its headline metrics are read from, under a results folder
    # that file's content -> {"<name>/...": figure or None} (lmtune.study.headline)
    headline: Callable[[dict], dict[str, float | None]]
    # Its final models and held-out sets are in the cross-experiment matrix (its rules
    # file adds them to CROSS_MODELS and CROSS_SETS).
    in_cross_matrix: bool
    # the config -> None, or a ConfigError: the checks of its settings that read no file
    # and that the schema cannot make (a plug-in's own settings), run on each branch of a
    # sweep as it is resolved, before the branch's whole check.
    check_settings: Callable[[dict], None] = lambda config: None


def model_set_headline(name: str, table: dict, measures) -> dict[str, float | None]:
    """The headline of an experiment that scores each of its models on each of its sets:
    {"<name>/<model>/<set>/<measure>": figure} of a model -> set -> figures table."""
    return {
        f"{name}/{model}/{eval_set}/{measure}": figures[measure]
        for model, sets in table.items()
        for eval_set, figures in sets.items()
        for measure in measures
    }

