"""Which folder holds each result of a study: the folder of the first run that makes it.

A study plans its base run and every branch in one DAG, the base first, then the branches
in order. Each run claims, as it loads, a folder for every result it makes, under that
result's identity (a digest of what it is made of, lmtune.pipeline.identity). The first
claim of an identity decides its folder: a later run that makes exactly the same thing
reads it from there and makes nothing, so the base's results are never made again by a
branch, and two branches that make the same thing make it once.

Claims are made as a run loads, before any input function runs: the base has claimed all
of its results before the first branch claims one, whatever order Snakemake then asks in.
"""

from __future__ import annotations

from lmtune.pipeline.identity import job_identity

# identity -> folder of the first run that claimed it; emptied when a workflow starts loading.
_FOLDERS: dict[str, str] = {}


def forget_claims() -> None:
    """A new workflow starts loading (Snakemake's API may load several in one process)."""
    _FOLDERS.clear()


def claim(identity: str, folder: str) -> str:
    """The folder of the result of this identity: `folder` if no run claimed it before."""
    return _FOLDERS.setdefault(identity, folder)


def claimed(identity: str) -> str:
    """The folder claimed for this identity (a KeyError where no run makes it)."""
    return _FOLDERS[identity]


# Settings that no experiment's results are made of: what surrounds a run (the study, where
# its curves go, its results folder), which experiments run beside it, and what a job asks
# of a scheduler.
NOT_RESULT_SETTINGS = ("sweeps", "tracking", "results", "experiments", "resources")


def experiment_identity(config: dict, experiment: str, experiments: tuple[str, ...], leave_out: tuple[str, ...] = ()) -> str:
    """An experiment's results as one identity: every setting of the config but the other
    experiments' sections and NOT_RESULT_SETTINGS (and `leave_out`, settings of the
    experiment's section that the results in question are not made of). Any other setting
    counts, read by the experiment or not: at worst a branch makes again what it could
    have shared, never shares what differs."""
    settings = {
        key: value
        for key, value in config.items()
        if key not in NOT_RESULT_SETTINGS and (key == experiment or key not in experiments)
    }
    settings[experiment] = {key: value for key, value in config[experiment].items() if key not in leave_out}
    return job_identity(f"experiment {experiment}", {"settings": settings, "leaving out": list(leave_out)}, {})


def experiment_folder(config: dict, experiment: str, experiments: tuple[str, ...], leave_out: tuple[str, ...] = ()) -> str:
    """The folder of an experiment's results (those not made of `leave_out`): this run's
    own, or the first earlier run's that makes exactly the same (its settings the same)."""
    return claim(experiment_identity(config, experiment, experiments, leave_out), f"{config['results']}/{experiment}")
