"""Errors with a message that names the bad setting or file."""


class LmtuneError(Exception):
    """Base class: the message is meant for the user, as is."""


class CorpusError(LmtuneError):
    """A corpus file is missing, unreadable, empty or too short."""


class ModelError(LmtuneError):
    """A model source or folder cannot be used."""


class TrainingError(LmtuneError):
    """Training diverged (non-finite loss) or was set up wrongly."""


class DataError(LmtuneError):
    """A user's instruction data file is unreadable, or one of its records is bad."""
