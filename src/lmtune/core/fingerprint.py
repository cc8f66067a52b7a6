"""The fingerprint of a training job: everything that decides its result, as plain data.

A checkpoint is resumed only under the fingerprint it was written with (lmtune.core.training):
the job's resolved settings, the content of its input model and data, and the code that
trains. Stale state is the most reported trust bug of training tools (a cache or a
checkpoint reused after the config changed); keying resumable state by content avoids it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from lmtune.core import atomic

# Packages whose version can change what a training step computes.
TRAINING_PACKAGES = ("torch", "transformers", "peft", "accelerate", "datasets", "bitsandbytes")


def file_digest(file: str | Path) -> bytes:
    """sha256 over a file's bytes."""
    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.digest()


class ContentCache:
    """Each file's sha256, kept in `folder` under the file's path, size, modification and
    change times and inode, so that planning does not read unchanged gigabytes again, and
    a file changed in place is read again even with its modification time set back
    (`touch -r`): its change time cannot be set back. Best effort: a folder that cannot
    be written only means reading again."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._known: dict[str, bytes] = {}

    def file_digest(self, file: Path) -> bytes:
        state = file.stat()
        key = hashlib.sha256(
            f"{file.resolve()}\0{state.st_size}\0{state.st_mtime_ns}\0{state.st_ctime_ns}\0{state.st_ino}".encode()
        ).hexdigest()
        if key in self._known:
            return self._known[key]
        kept = self.folder / key[:2] / key
        try:
            digest = bytes.fromhex(kept.read_text(encoding="ascii"))
        except (OSError, ValueError):
            digest = file_digest(file)
            with contextlib.suppress(OSError):
                atomic.write_text(kept, digest.hex())
        self._known[key] = digest
        return digest


def content_hash(path: str | Path, cache: ContentCache | None = None) -> str:
    """sha256 over a file's bytes, or over a folder's files (relative names and bytes)."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(cache.file_digest(file) if cache else file_digest(file))
    return digest.hexdigest()


@lru_cache(maxsize=1)
def code_version() -> dict:
    """The lmtune library's own source (a hash of its .py files) and the versions of the
    packages that train."""
    versions = {}
    for name in TRAINING_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"lmtune": source_digest(Path(__file__).resolve().parents[1]), **versions}


def source_digest(package_root: str | Path) -> str:
    """sha256 over a package's source files (relative names and bytes). Read again only
    when a file's size, time or inode changed: a study asks once per branch."""
    package_root = Path(package_root)
    files = sorted(package_root.rglob("*.py"))
    state = tuple((file, info.st_size, info.st_mtime_ns, info.st_ino) for file in files for info in [file.stat()])
    return _source_digest(package_root, state)


@lru_cache(maxsize=16)
def _source_digest(package_root: Path, state: tuple) -> str:
    digest = hashlib.sha256()
    for file, *_ in state:
        digest.update(file.relative_to(package_root).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def normalise(value):
    """`value` as JSON would give it back (tuples become lists, keys strings), so that a
    fingerprint read from disk compares equal to a freshly made one."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def changes(old: dict | None, new: dict) -> list[str]:
    """What differs between two fingerprints, as dotted keys: 'settings.learning_rate
    0.0001 -> 0.001', 'inputs.model (content)'."""
    if old is None:
        return ["no fingerprint was recorded with them"]
    found = []

    def walk(a, b, key):
        if isinstance(a, dict) and isinstance(b, dict):
            for name in sorted(set(a) | set(b)):
                walk(a.get(name), b.get(name), f"{key}.{name}" if key else name)
        elif a != b:
            hashes = isinstance(a, str) and isinstance(b, str) and len(a) == len(b) == 64
            found.append(f"{key} (content)" if hashes else f"{key} {a!r} -> {b!r}")

    walk(old, new, "")
    return found
