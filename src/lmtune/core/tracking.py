"""Where a training run's curves go: nowhere, TensorBoard, or a local MLflow store.

    args = TrainingArguments(..., **tracking_arguments("tensorboard", results / "tensorboard"))

transformers 5 has no `logging_dir` argument: its TensorBoard and MLflow callbacks read
their destination from the environment when the Trainer is built. So
`tracking_arguments` sets that variable (TENSORBOARD_LOGGING_DIR, or MLFLOW_TRACKING_URI
for a `file:` store under `log_dir`) in this process and returns the TrainingArguments
keyword arguments; call it in the job's process before making the Trainer. Every logged
step then carries the training loss, learning rate and gradient norm (`train/loss`,
`train/learning_rate`, `train/grad_norm`).

The workflow's training jobs learn the tracker from their environment
(`tracking_for_jobs`, called where the workflow loads; `job_tracking`, called by every
training): never from a job's params nor its fingerprint, so that turning tracking on or
off reruns no job and resumes every checkpoint.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from lmtune.core.errors import LmtuneError

# kind -> (the package it needs, the pinned install, the variable that says where)
TRACKERS = {
    "tensorboard": ("tensorboard", "tensorboard==2.21.0", "TENSORBOARD_LOGGING_DIR"),
    "mlflow": ("mlflow", "mlflow", "MLFLOW_TRACKING_URI"),
}
KINDS = ("none", *TRACKERS)
# Set by the workflow for its jobs: the tracker, and the results folder whose
# tensorboard/ (event files, one folder per training) or mlflow/ (one store) holds them.
KIND_VARIABLE = "LMTUNE_TRACKING"
RESULTS_VARIABLE = "LMTUNE_TRACKING_RESULTS"


class TrackingError(LmtuneError):
    pass


def tracking_arguments(kind: str, log_dir: str | Path) -> dict:
    """TrainingArguments keyword arguments that send the curves to `kind` (none,
    tensorboard, mlflow) under `log_dir`; sets the destination variable (module doc).
    Raises TrackingError for an unknown kind or a tracker whose package is missing."""
    if kind == "none":
        return {"report_to": "none"}
    check_tracker(kind)
    variable = TRACKERS[kind][2]
    log_dir = Path(log_dir).resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    os.environ[variable] = log_dir.as_uri() if kind == "mlflow" else str(log_dir)
    return {"report_to": [kind]}


def check_tracker(kind: str) -> None:
    """Raise TrackingError for an unknown kind or a tracker whose package is missing."""
    if kind == "none":
        return
    if kind not in TRACKERS:
        raise TrackingError(f"unknown tracking {kind!r}; expected one of {', '.join(KINDS)}")
    package, install, _variable = TRACKERS[kind]
    if importlib.util.find_spec(package) is None:
        raise TrackingError(f"tracking {kind!r} needs the Python package {package!r}, which is not installed: pip install {install}")


def tracking_for_jobs(kind: str, results: str | Path) -> None:
    """Tell every job this process starts to track to `kind` under the results folder
    `results` (a study's branches, in folders below it, track there too). A tracker
    whose package is missing stops the workflow here, where it loads, not in the first
    training job."""
    check_tracker(kind)
    os.environ[KIND_VARIABLE] = kind
    os.environ[RESULTS_VARIABLE] = str(Path(results).resolve())


def job_tracking(out_dir: str | Path) -> dict:
    """TrainingArguments keyword arguments for the training that writes `out_dir`, as the
    workflow's environment says (`tracking_for_jobs`; none outside the workflow). The run
    is named by where its model goes under the results folder, less a final `model`
    (`continual/sequential/seed0/A`, `study/<branch>/java/stage1`); TensorBoard event
    files go to `<results>/tensorboard/<run>/`, MLflow runs to the store `<results>/mlflow`."""
    kind = os.environ.get(KIND_VARIABLE, "none")
    if kind == "none":
        return tracking_arguments(kind, ".")
    results = Path(os.environ.get(RESULTS_VARIABLE, ".")).resolve()
    out = Path(out_dir).resolve()
    run = out.relative_to(results) if out.is_relative_to(results) else Path(out.name)
    if run.name == "model":
        run = run.parent
    log_dir = results / "tensorboard" / run if kind == "tensorboard" else results / "mlflow"
    return {**tracking_arguments(kind, log_dir), "run_name": run.as_posix()}
