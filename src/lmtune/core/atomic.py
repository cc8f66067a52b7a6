"""Write outputs so that an interrupted job never leaves something that looks finished.

Every file or folder is written under a temporary name beside its target and renamed
into place at the end; a rename within one file system is atomic. What is renamed into
place has the modes a plain write would give it under the process's umask.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any, Iterator

log = logging.getLogger(__name__)


def _umask() -> int:
    """The process's umask, read without changing it where Linux allows."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _give_plain_modes(folder: Path) -> None:
    """Every file and folder under `folder` gets the mode a plain write would give it.
    Libraries write some files private: safetensors' save_file (model and adapter
    weights) makes them 0600 through temporary files of its own, and a result must be
    readable as the umask allows (a shared cluster's group reads them)."""
    mask = _umask()
    for root, folders, files in os.walk(folder):
        for name in folders:
            os.chmod(os.path.join(root, name), 0o777 & ~mask)
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path):
                continue  # chmod would change what the link points to
            executable = os.stat(path).st_mode & stat.S_IXUSR
            os.chmod(path, (0o777 if executable else 0o666) & ~mask)


def write_text(path: str | os.PathLike, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            # mkstemp makes the file private (0600); give it the mode a plain write would.
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str | os.PathLike, data: Any) -> None:
    # sort_keys and a fixed indent make the file byte-identical for identical results.
    write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def _remove_stale_temporaries(path: Path) -> None:
    """Remove what an earlier write of the folder `path`, killed part-way, left beside
    it: its temporary folder (`.name.XXXXXXXX.tmp`, partial weights) and the previous
    folder set aside (`.name.XXXXXXXX.old`). Only one job writes a given output at a
    time, so no other writer's temporaries are there; the random part of the name never
    holds a dot, so another target's (`name.x`) never match."""
    stale = re.compile(rf"\.{re.escape(path.name)}\.[^.]+\.(tmp|old)")
    for leftover in path.parent.iterdir():
        if stale.fullmatch(leftover.name):
            log.info("removing %s, left by an interrupted write of %s", leftover, path)
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()


@contextlib.contextmanager
def directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder that becomes `path` only if the block finishes.

    A folder already at `path` is first renamed aside, then deleted once the new one is
    in place: a kill at any moment leaves either a complete folder at `path` or none,
    never one half deleted. What such a kill left beside `path` is removed by the next
    write of it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    old = None
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes the folder private (0700)
        yield tmp
        _give_plain_modes(tmp)
        if path.exists() or path.is_symlink():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
            os.replace(path, old / path.name)
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(old / path.name, path)  # put the previous folder back
                raise
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
