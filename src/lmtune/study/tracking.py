"""Where a training run's curves go: nowhere, TensorBoard, or a local MLflow store.

    args = TrainingArguments(..., **tracking_arguments("tensorboard", results / "tensorboard"))

transformers 5 has no `logging_dir` argument: its TensorBoard and MLflow callbacks read
their destination from the environment when the Trainer is built. So
`tracking_arguments` sets that variable (TENSORBOARD_LOGGING_DIR, or MLFLOW_TRACKING_URI
for a `file:` store under `log_dir`) in this process and returns the TrainingArguments
keyword arguments; call it in the job's process before making the Trainer. Every logged
step then carries the training loss, learning rate and gradient norm (`train/loss`,
`train/learning_rate`, `train/grad_norm`).
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


class TrackingError(LmtuneError):
    pass


def tracking_arguments(kind: str, log_dir: str | Path) -> dict:
    """TrainingArguments keyword arguments that send the curves to `kind` (none,
    tensorboard, mlflow) under `log_dir`; sets the destination variable (module doc).
    Raises TrackingError for an unknown kind or a tracker whose package is missing."""
    if kind == "none":
        return {"report_to": "none"}
    if kind not in TRACKERS:
        raise TrackingError(f"unknown tracking {kind!r}; expected one of {', '.join(KINDS)}")
    package, install, variable = TRACKERS[kind]
    if importlib.util.find_spec(package) is None:
        raise TrackingError(f"tracking {kind!r} needs the Python package {package!r}, which is not installed: pip install {install}")
    log_dir = Path(log_dir).resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    os.environ[variable] = log_dir.as_uri() if kind == "mlflow" else str(log_dir)
    return {"report_to": [kind]}
