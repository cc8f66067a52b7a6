"""A corpus of any size, streamed document by document.

A corpus setting names one of:

- a text file: UTF-8, documents (paragraphs) separated by blank lines;
- a JSON Lines file (`.jsonl`), a document per record in its text field;
- a Parquet file (`.parquet`), a document per row of its text column;
- a glob (`shards/*.jsonl.zst`) or a folder of such shards, read in sorted name order;
  `.txt` and `.jsonl` shards may be compressed (`.gz`, `.zst`; Parquet compresses inside);
- a folder written by `datasets` (`save_to_disk`; of a DatasetDict, its `split`);
- a hub dataset (`{hub: name, config: ..., split: train}`), where a hub is reachable.

The object form (`{path: ..., text_field: content}`) names another text field. Documents
are read a buffer at a time and never held all at once; each is stripped, and an empty
one is skipped. A bad shard raises CorpusError naming the file and the line, row or
byte offset.
"""

from __future__ import annotations

import codecs
import glob
import json
import os
import re
import socket
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

from lmtune.core.errors import CorpusError, missing

SHARD_FORMATS = (".txt", ".jsonl", ".parquet")
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}
DATASETS_FOLDER_MARKERS = ("state.json", "dataset_dict.json")
# A hub that does not answer within this many seconds counts as unreachable.
HUB_TIMEOUT_S = 5.0
READ_BYTES = 1 << 22
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class CorpusSpec:
    """What a `corpus` setting names: a path (file, glob or folder) or a hub dataset."""

    path: str | None = None
    hub: str | None = None
    config: str | None = None
    split: str = "train"
    text_field: str = "text"

    @classmethod
    def from_setting(cls, setting: str | dict) -> "CorpusSpec":
        if isinstance(setting, str):
            return cls(path=setting)
        known = {"path", "hub", "config", "split", "text_field"}
        return cls(**{key: value for key, value in setting.items() if key in known})

    def to_setting(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value is not None}

    def describe(self) -> str:
        if self.hub:
            return f"hub dataset {self.hub}" + (f" ({self.config})" if self.config else "") + f" split {self.split}"
        return self.path


def shard_format(path: Path) -> tuple[str, str | None]:
    """(format, compression) from a shard's name: `x.jsonl.zst` -> (".jsonl", "zstd").
    A name of no known format is text, as a single corpus file always was."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    fmt = suffixes[-1] if suffixes and suffixes[-1] in SHARD_FORMATS else ".txt"
    if fmt == ".parquet" and compression:
        raise CorpusError(f"corpus file {path}: Parquet compresses inside; write it uncompressed (e.g. compression='zstd')")
    return fmt, compression


def is_datasets_folder(path: Path) -> bool:
    return path.is_dir() and any((path / marker).is_file() for marker in DATASETS_FOLDER_MARKERS)


def _is_shard(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes = suffixes[:-1]
    return bool(suffixes) and suffixes[-1] in SHARD_FORMATS and not path.name.startswith(".")


def corpus_files(spec: CorpusSpec, workdir: Path = Path(".")) -> list[Path]:
    """Every file the corpus is read from, in reading order (a datasets folder: every file
    in it), so a workflow tracks each; none for a hub dataset. CorpusError if there is none."""
    if spec.hub:
        return []
    pattern = spec.path
    if _GLOB_CHARS.search(pattern):
        matches = sorted(Path(p) for p in glob.glob(str(workdir / pattern), recursive=True))
        files = [p for p in matches if p.is_file()]
        if not files:
            raise CorpusError(f"corpus glob {pattern} matches no file")
        return [_relative(p, workdir) for p in files]
    path = workdir / pattern
    if path.is_dir():
        if is_datasets_folder(path):
            return [_relative(p, workdir) for p in sorted(path.rglob("*")) if p.is_file()]
        shards = [p for p in sorted(path.rglob("*")) if p.is_file() and _is_shard(p)]
        if not shards:
            raise CorpusError(
                f"corpus folder {pattern} holds no shard ({', '.join(SHARD_FORMATS)}, plain or .gz/.zst) "
                "and is no folder written by datasets"
            )
        return [_relative(p, workdir) for p in shards]
    if not path.exists():
        raise CorpusError(f"corpus file {pattern} {missing(path)}")
    if not path.is_file():
        raise CorpusError(f"corpus file {pattern} is not a regular file; name a UTF-8 text file")
    return [_relative(path, workdir)]


def _relative(path: Path, workdir: Path) -> Path:
    """A path as the setting names it: relative to the working folder where it was."""
    try:
        return path.relative_to(workdir)
    except ValueError:
        return path


@dataclass(frozen=True)
class Shard:
    path: Path
    format: str
    compression: str | None
    text_field: str


def shards(spec: CorpusSpec, workdir: Path = Path(".")) -> list[Shard] | None:
    """The corpus's shards, or None where it is a datasets folder or a hub dataset."""
    if spec.hub or (not _GLOB_CHARS.search(spec.path) and is_datasets_folder(workdir / spec.path)):
        return None
    return [Shard(workdir / p, *shard_format(p), spec.text_field) for p in corpus_files(spec, workdir)]


def documents(spec: CorpusSpec, workdir: Path = Path(".")) -> Iterator[str]:
    """Every document of the corpus, in order, stripped; CorpusError for a bad shard
    (an empty one included)."""
    parts = shards(spec, workdir)
    if parts is None:
        yield from (_hub_documents(spec) if spec.hub else _datasets_folder_documents(workdir / spec.path, spec))
        return
    for shard in parts:
        yield from shard_documents(shard)


def shard_documents(shard: Shard) -> Iterator[str]:
    reader = {".txt": _text_documents, ".jsonl": _jsonl_documents, ".parquet": _parquet_documents}[shard.format]
    empty = True
    for document in reader(shard):
        empty = False
        yield document
    if empty:
        raise CorpusError(f"corpus file {shard.path} is empty")


def count_documents(spec: CorpusSpec, workdir: Path = Path(".")) -> int:
    return sum(1 for _ in documents(spec, workdir))


# --- Readers of one shard ---


def _open_bytes(shard: Shard):
    if not shard.path.exists():
        raise CorpusError(f"corpus file {shard.path} {missing(shard.path)}")
    try:
        if shard.compression is None:
            return open(shard.path, "rb")
        import pyarrow

        return pyarrow.input_stream(str(shard.path), compression=shard.compression)
    except OSError as exc:
        raise CorpusError(f"corpus file {shard.path} cannot be read: {exc.strerror or exc}") from None


def _decoded_chunks(shard: Shard) -> Iterator[str]:
    """The shard's text a few MB at a time; a bad byte names its offset (in the
    decompressed stream of a compressed shard)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0  # bytes handed to the decoder so far
    with _open_bytes(shard) as handle:
        while True:
            try:
                data = handle.read(READ_BYTES)
            except OSError as exc:  # a truncated or corrupt .gz/.zst
                raise CorpusError(f"corpus file {shard.path} cannot be decompressed ({exc})") from None
            final = not data
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(bytes(data), final=final)
            except UnicodeDecodeError as exc:
                where = "" if shard.compression is None else " of its decompressed text"
                raise CorpusError(
                    f"corpus file {shard.path} is not valid UTF-8 (bad byte at offset {offset - pending + exc.start}{where}); "
                    "convert it, e.g. with `iconv -t utf-8`"
                ) from None
            offset += len(data)
            if text:
                yield text
            if final:
                return


def _text_documents(shard: Shard) -> Iterator[str]:
    """Paragraphs separated by blank lines, exactly as lmtune.continual.corpus's
    split_paragraphs cuts the whole text: the text is cut at each blank line of a buffer,
    and what follows the last one waits for the next buffer."""
    carry, held, first = "", "", True
    for chunk in _decoded_chunks(shard):
        if first:
            chunk, first = chunk.lstrip("\ufeff"), False
        chunk = held + chunk
        # A "\r" at the end may be the first half of a "\r\n" the next buffer completes.
        chunk, held = (chunk[:-1], "\r") if chunk.endswith("\r") else (chunk, "")
        parts = _BLANK_LINE.split(carry + chunk.replace("\r\n", "\n"))
        carry = parts.pop()
        for part in parts:
            if part := part.strip():
                yield part
    if part := (carry + held).strip():
        yield part


def _record_text(value, field_name: str, where: str) -> str:
    if value is None:
        raise CorpusError(f"{where}: no {field_name!r} field; a corpus record holds its document in {field_name!r}")
    if not isinstance(value, str):
        raise CorpusError(f"{where}: field {field_name!r} is {type(value).__name__}, not a string")
    return value.strip()


def _jsonl_documents(shard: Shard) -> Iterator[str]:
    carry, number = "", 0
    for chunk in _decoded_chunks(shard):
        lines = (carry + chunk).split("\n")
        carry = lines.pop()
        for line in lines:
            number += 1
            if text := _jsonl_record(line, number, shard):
                yield text
    if carry.strip() and (text := _jsonl_record(carry, number + 1, shard)):
        yield text


def _jsonl_record(line: str, number: int, shard: Shard) -> str:
    if not line.strip():
        return ""
    where = f"corpus file {shard.path} line {number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno})") from None
    if not isinstance(record, dict):
        raise CorpusError(f"{where}: a record must be an object with a {shard.text_field!r} field, not {type(record).__name__}")
    return _record_text(record.get(shard.text_field), shard.text_field, where)


def _parquet_file(path: Path):
    import pyarrow.parquet

    if not path.is_file():
        raise CorpusError(f"corpus file {path} {missing(path) if not path.exists() else 'is not a regular file'}")
    try:
        return pyarrow.parquet.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, and others
        raise CorpusError(f"corpus file {path}: cannot read it as Parquet ({exc})") from None


def _parquet_documents(shard: Shard) -> Iterator[str]:
    table = _parquet_file(shard.path)
    names = table.schema_arrow.names
    if shard.text_field not in names:
        raise CorpusError(f"corpus file {shard.path} has no {shard.text_field!r} column (it has {', '.join(names) or 'none'})")
    row = 0
    for batch in table.iter_batches(columns=[shard.text_field], batch_size=8192):
        for value in batch.column(0).to_pylist():
            row += 1
            if text := _record_text(value, shard.text_field, f"corpus file {shard.path} row {row}"):
                yield text


def _datasets_folder_documents(folder: Path, spec: CorpusSpec) -> Iterator[str]:
    dataset = open_datasets_folder(folder, spec)
    row = 0
    for batch in dataset.iter(batch_size=4096):
        for value in batch[spec.text_field]:
            row += 1
            if text := _record_text(value, spec.text_field, f"corpus folder {folder} row {row}"):
                yield text
    if row == 0:
        raise CorpusError(f"corpus folder {folder} is empty")


def open_datasets_folder(folder: Path, spec: CorpusSpec):
    """The datasets folder's Dataset (memory-mapped, never read whole), its text field checked."""
    import datasets

    try:
        dataset = datasets.load_from_disk(str(folder))
    except Exception as exc:
        raise CorpusError(f"corpus folder {folder}: cannot read it with datasets ({exc})") from None
    if isinstance(dataset, datasets.DatasetDict):
        if spec.split not in dataset:
            raise CorpusError(f"corpus folder {folder} has no split {spec.split!r} (it has {', '.join(dataset)})")
        dataset = dataset[spec.split]
    if spec.text_field not in dataset.column_names:
        raise CorpusError(
            f"corpus folder {folder} has no {spec.text_field!r} column (it has {', '.join(dataset.column_names) or 'none'})"
        )
    return dataset


# --- Hub datasets ---


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def hub_unreachable(timeout: float = HUB_TIMEOUT_S) -> str | None:
    """Why no hub is reachable, within `timeout` seconds (offline mode set, or no
    connection to the endpoint, name resolution included, which has no timeout of its
    own); None where one answers."""
    endpoint = hub_endpoint()
    for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if os.environ.get(variable, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"{variable} is set, so no hub is reachable"
    url = urlparse(endpoint)
    outcome: list = []

    def connect():
        try:
            socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)), timeout=timeout).close()
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    attempt = threading.Thread(target=connect, daemon=True)
    attempt.start()
    attempt.join(timeout)
    if not outcome or outcome[0] is not None:
        why = f"no answer within {timeout:.0f} s" if not outcome else str(outcome[0].strerror or outcome[0])
        return f"no hub reachable at {endpoint} ({why})"
    return None


def check_hub_reachable(spec: CorpusSpec, timeout: float = HUB_TIMEOUT_S) -> None:
    """CorpusError within `timeout` seconds where no hub answers (hub_unreachable)."""
    why = hub_unreachable(timeout)
    if why:
        advice = "download it where a hub is reachable and name its folder (datasets' save_to_disk) or its files"
        raise CorpusError(f"corpus {spec.describe()}: {why}; {advice}")


def _hub_documents(spec: CorpusSpec) -> Iterator[str]:
    import datasets

    check_hub_reachable(spec)
    try:
        stream = datasets.load_dataset(spec.hub, spec.config, split=spec.split, streaming=True)
    except Exception as exc:
        raise CorpusError(f"corpus {spec.describe()}: cannot open it ({exc})") from None
    row = 0
    for record in stream:
        row += 1
        if text := _record_text(record.get(spec.text_field), spec.text_field, f"corpus {spec.describe()} row {row}"):
            yield text


# --- Checks when the workflow loads ---

# A corpus this small is read whole when the workflow loads (as it always was), so every
# error in it stops the load; a larger one is checked shard by shard from its start, and
# read whole by the split job, before any tokenization.
FULL_CHECK_BYTES = 8 << 20


def check_corpus(setting: str | dict, workdir: Path = Path(".")) -> None:
    """What can be known quickly: the glob matches, every file exists, no shard is empty,
    each shard's first record has its text field, a hub answers; a small corpus is read
    whole (at least two documents, every record good). CorpusError otherwise."""
    spec = CorpusSpec.from_setting(setting)
    if spec.hub:
        check_hub_reachable(spec)
        return
    files = corpus_files(spec, workdir)
    if is_datasets_folder(workdir / spec.path) and not _GLOB_CHARS.search(spec.path):
        dataset = open_datasets_folder(workdir / spec.path, spec)
        count = len(dataset)
    elif sum((workdir / p).stat().st_size for p in files) <= FULL_CHECK_BYTES:
        count = count_documents(spec, workdir)
    else:
        for shard in shards(spec, workdir):
            next(iter(shard_documents(shard)))  # its first document: raises for an empty or bad start
        return
    if count < 2:
        raise CorpusError(
            f"{spec.describe()} has {count} document(s); a train/test split needs at least 2 "
            "(separate paragraphs with a blank line)"
        )
