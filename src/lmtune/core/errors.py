"""Errors with a message that names the bad setting or file."""


class LmtuneError(Exception):
    """Base class: the message is meant for the user, as is."""


class CorpusError(LmtuneError):
    """A corpus file is missing, unreadable, empty or too short."""


class ModelError(LmtuneError):
    """A model source or folder cannot be used."""


class TrainingError(LmtuneError):
    """Training diverged (non-finite loss) or was set up wrongly."""


class ParallelError(LmtuneError):
    """A data-parallel or FSDP setting this machine cannot run, or a process of a
    data-parallel group that failed."""


class ClusterError(LmtuneError):
    """A SLURM setting the cluster does not have."""
