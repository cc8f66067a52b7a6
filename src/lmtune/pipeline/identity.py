"""What a job is made of, beyond the settings its rule passes it: the content of its
inputs that Snakemake does not date (a corpus, a local model folder, the user's data,
and the folders that rules make), and a job's identity as one digest.

Snakemake reruns a job when its params change or an input is newer than its outputs; it
dates a file by its modification time and a `directory()` by a marker file. So a model
folder whose weights change in place, a file cut short, or data changed with its
modification time set back rerun nothing by themselves. Each job therefore gets a
`contents` param: the content digest of each of its inputs that lies outside the
workflow's own outputs (sources), and of each `directory()` output of a rule that it
reads (lmtune.core.fingerprint.ContentCache keeps them, so a dry run reads only what
changed). A change there changes the param, and Snakemake reruns the job and, through the
files it writes again, everything downstream. A made folder's digest is taken again when
the job starts (Snakemake evaluates params anew then), so a plain run records the folder
as its maker left it, and a second run has nothing to do.

A job's identity is the digest of its rule, the settings its script reads and the
identities of its inputs (a source's content digest, or the identity of the job that
makes it). It is a function of the config and the sources alone, so it can be computed
for any config before anything runs: a study branch reads a result from the base run's
folder exactly where the two identities are equal (lmtune.pipeline.continual).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
from pathlib import Path

from lmtune.core.fingerprint import ContentCache, content_hash
from lmtune.core.models import trusts_code

# Under the working folder, beside Snakemake's own state.
CONTENT_CACHE = Path(".snakemake") / "lmtune" / "content"

_CACHE = ContentCache(CONTENT_CACHE)
# The folders whose files the workflow makes (the top-level results folder, which holds
# every study branch's, and the materialised base models): set once by the top level.
_MADE_HERE: list[Path] = []


# The paths of the `directory()` outputs that rules make and keep, as patterns (a temp()
# folder is deleted once read: its absence is no change of what read it).
_MADE_FOLDERS: list[re.Pattern] = []


def made_folders(patterns) -> None:
    """Add the path patterns of rules' kept `directory()` outputs (each study branch adds its own)."""
    _MADE_FOLDERS.extend(patterns)
    _is_made_folder.cache_clear()


@functools.lru_cache(maxsize=None)
def _is_made_folder(path: str) -> bool:
    return any(pattern.match(path) for pattern in _MADE_FOLDERS)


def workflow_outputs(*folders: str) -> None:
    """Say where the workflow's own outputs lie; every other input is a source."""
    _MADE_HERE[:] = [Path(folder).resolve() for folder in folders]


def is_source(path: str | Path) -> bool:
    return _is_source(str(path), tuple(_MADE_HERE))


@functools.lru_cache(maxsize=None)
def _is_source(path: str, made_here: tuple[Path, ...]) -> bool:
    resolved = Path(path).resolve()
    return not any(resolved.is_relative_to(folder) for folder in made_here)


class UnreadableInput(OSError):
    """A file of a job's input that cannot be read: the job cannot be trusted to run."""


def _content_digest(path: str | Path) -> str:
    try:
        return content_hash(path, _CACHE)
    except OSError as error:
        raise UnreadableInput(f"cannot read {error.filename or path}, an input of a job ({error.strerror or error})") from error


def source_digest(path: str | Path) -> str:
    """The content digest of a file or folder that no rule makes (missing: its absence,
    which Snakemake reports as a missing input in its own words)."""
    return _content_digest(path) if Path(path).exists() else "missing"


def input_contents(inputs) -> dict[str, str]:
    """path -> content digest of each of a job's inputs that no rule makes (a model
    folder whose code the config trusts is read otherwise: that is said too), and of each
    folder a rule made that it reads (not made yet: the job runs after its maker anyway,
    and its params are taken again then)."""
    contents = {}
    for path in inputs:
        if is_source(path):
            contents[str(path)] = source_digest(path) + (" trusted code" if trusts_code(path) else "")
        elif _is_made_folder(str(path)):
            contents[str(path)] = _content_digest(path) if Path(path).is_dir() else "not made yet"
    return contents


def result_compute(config: dict) -> dict:
    """What of the compute settings decides a job's result (a param of every job that
    loads a model): not its threads, nor where it runs."""
    return {key: config["compute"][key] for key in ("device", "precision")}


def job_identity(rule: str, settings: dict, inputs: dict) -> str:
    """The digest of a job: its rule, the settings its script reads, and its inputs'
    identities (name -> digest, or a list of them)."""
    text = json.dumps({"rule": rule, "settings": settings, "inputs": inputs}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# The workflow whose rules were last handed out, and how many of its rules that was.
_HANDED_OUT: list = [None, 0]


def rules_defined_since_last_call(workflow) -> list:
    """The workflow's rules defined since the last call for it (every rule, the first
    time), in order: each study branch adds its rules, and looking at every rule again for
    each branch made planning grow with the square of the branches."""
    if _HANDED_OUT[0] is not workflow:
        _HANDED_OUT[:] = [workflow, 0]
    rules = list(itertools.islice(workflow.rules, _HANDED_OUT[1], None))
    _HANDED_OUT[1] += len(rules)
    return rules
