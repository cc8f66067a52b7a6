"""Errors with a message that names the bad setting or file."""

import errno
import os
from pathlib import Path


def missing(path: str | Path) -> str:
    """Why a path that does not lead to a file or folder cannot be used, as the end of a
    message about it: it does not exist, or it is a symbolic link that loops or leads
    nowhere."""
    path = Path(path)
    if not path.is_symlink():
        return "does not exist"
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python before 3.13 says a loop so
        return "is a symbolic link that loops back on itself"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "is a symbolic link that loops back on itself"
    return f"is a symbolic link to {os.readlink(path)}, which does not exist"


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


class DataError(LmtuneError):
    """A user's instruction data file is unreadable, or one of its records is bad."""
