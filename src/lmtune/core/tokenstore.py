"""Token ids on disk, compact and memory-mapped, cut into causal-LM blocks when loaded.

A store is a folder:

- `ids.bin`: every document's token ids followed by the end-of-text token, one after
  another (uint16 where the vocabulary fits, else uint32);
- `document_ends.bin`: where each document ends in `ids.bin` (its end token included);
- `store.json`: the dtypes, counts, end and pad tokens.

Documents are tokenized in batches by the fast tokenizer over the job's threads while
the next batch is read, and written a batch at a time: memory stays flat whatever the
corpus's size. Attention masks and labels are not stored: `TokenBlocks` makes them at
load, cutting the stream into the same blocks as lmtune.core.blocks.make_blocks (the last
short block padded, its pad positions masked and labelled -100; a lone trailing token
makes no block).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from lmtune.core import atomic
from lmtune.core.errors import CorpusError

log = logging.getLogger(__name__)

IGNORE_INDEX = -100
STORE_FORMAT = "lmtune-token-store/1"
METADATA = "store.json"
IDS = "ids.bin"
DOCUMENT_ENDS = "document_ends.bin"
# Characters of text per tokenizer batch: large enough to keep every thread busy, small
# enough that a batch's ids (Python ints while they are converted) stay a few tens of MB.
BATCH_CHARACTERS = 1 << 20
PROGRESS_EVERY_S = 10.0


def ids_dtype(vocabulary_size: int) -> np.dtype:
    return np.dtype(np.uint16) if vocabulary_size <= 1 << 16 else np.dtype(np.uint32)


def is_store(path: str | Path) -> bool:
    return (Path(path) / METADATA).is_file()


def set_tokenizer_threads(threads: int) -> None:
    """The fast tokenizer's thread pool (Rust's rayon) reads its size from the environment
    when it first runs: set before the first batch is tokenized."""
    os.environ["RAYON_RS_NUM_THREADS"] = os.environ["RAYON_NUM_THREADS"] = str(max(1, threads))
    os.environ.pop("TOKENIZERS_PARALLELISM", None)


def batch_encoder(tokenizer):
    """A function from a list of texts to their token ids (no special tokens): the fast
    tokenizer's Rust batch call without offsets where there is one."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and hasattr(backend, "encode_batch_fast"):
        return lambda texts: [encoding.ids for encoding in backend.encode_batch_fast(texts, add_special_tokens=False)]
    return lambda texts: tokenizer(texts, add_special_tokens=False)["input_ids"]


class StoreWriter:
    """Appends documents' ids to a store folder; `max_tokens` cuts the stream there."""

    def __init__(self, folder: Path, vocabulary_size: int, eos_id: int, pad_id: int, max_tokens: int | None = None):
        self.folder, self.eos_id, self.pad_id, self.max_tokens = folder, eos_id, pad_id, max_tokens
        self.dtype = ids_dtype(vocabulary_size)
        self.vocabulary_size = vocabulary_size
        self.ids_file = open(folder / IDS, "wb")
        self.ends_file = open(folder / DOCUMENT_ENDS, "wb")
        self.tokens = self.documents = 0

    @property
    def full(self) -> bool:
        return self.max_tokens is not None and self.tokens >= self.max_tokens

    def add(self, documents_ids: list[list[int]]) -> None:
        flat: list[int] = []
        ends = np.empty(len(documents_ids), dtype=np.uint64)
        for number, ids in enumerate(documents_ids):
            flat.extend(ids)
            flat.append(self.eos_id)
            ends[number] = self.tokens + len(flat)
        if self.max_tokens is not None and self.tokens + len(flat) > self.max_tokens:
            keep = self.max_tokens - self.tokens
            flat = flat[:keep]
            ends = np.minimum(ends[: int(np.searchsorted(ends, self.max_tokens)) + 1], self.max_tokens)
        np.asarray(flat, dtype=self.dtype).tofile(self.ids_file)
        ends.tofile(self.ends_file)
        self.tokens += len(flat)
        self.documents += len(ends)

    def close(self) -> dict:
        self.ids_file.close()
        self.ends_file.close()
        metadata = {
            "format": STORE_FORMAT,
            "dtype": self.dtype.name,
            "document_ends_dtype": "uint64",
            "tokens": self.tokens,
            "documents": self.documents,
            "eos_id": self.eos_id,
            "pad_id": self.pad_id,
            "vocabulary_size": self.vocabulary_size,
            "max_tokens": self.max_tokens,
        }
        atomic.write_json(self.folder / METADATA, metadata)
        return metadata


def _batches(tagged: Iterable[tuple[str, str]], skip, characters: int) -> Iterator[tuple[str, list[str], int]]:
    """(side, texts, characters read) batches of about `characters` of one side's text;
    the documents of a side `skip(side)` says is full are read past, not batched."""
    pending: dict[str, list[str]] = {}
    size: dict[str, int] = {}
    read = 0
    for side, text in tagged:
        read += len(text)
        if skip(side):
            continue
        pending.setdefault(side, []).append(text)
        size[side] = size.get(side, 0) + len(text)
        if size[side] >= characters:
            yield side, pending.pop(side), read
            size[side] = 0
    for side, texts in pending.items():
        yield side, texts, read


def _read_ahead(batches: Iterator, depth: int = 2) -> Iterator:
    """The batches, read in a thread of their own so that reading the next overlaps
    tokenizing this one (the tokenizer lets go of the interpreter while it works); an
    error while reading is raised here."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce():
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        handoff.put(batch, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(done)
        except BaseException as exc:  # handed to the consumer, which raises it
            handoff.put(exc)

    reader = threading.Thread(target=produce, name="read-documents", daemon=True)
    reader.start()
    try:
        while (item := handoff.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


class Progress:
    """A line in the log every PROGRESS_EVERY_S: tokens done, tokens/s, time left (from
    the share of the text read)."""

    def __init__(self, total_characters: int, label: str):
        self.total, self.label = max(1, total_characters), label
        self.start = self.last = time.monotonic()

    def update(self, tokens: int, characters: int, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-9)
        share = min(characters / self.total, 1.0)
        left = elapsed * (1 - share) / share if share > 0 else float("nan")
        log.info(
            "%s: %s tokens, %.0f tokens/s, %.0f%% of the text read, %s",
            self.label, f"{tokens:,}", tokens / elapsed, 100 * share,
            "done" if final else f"about {left:.0f} s left",
        )


def write_stores(
    tagged: Iterable[tuple[str, str]],
    tokenizer,
    folders: dict[str, Path],
    total_characters: int,
    max_tokens: dict[str, int | None] | None = None,
    label: str = "tokenize",
) -> dict[str, dict]:
    """Tokenize (side, document) pairs into one store per side, in `folders` (existing,
    empty). Returns each store's metadata."""
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has no end-of-text token to separate documents")
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    caps = max_tokens or {}
    writers = {side: StoreWriter(Path(folder), len(tokenizer), eos, pad, caps.get(side)) for side, folder in folders.items()}
    encode = batch_encoder(tokenizer)
    progress = Progress(total_characters, label)
    tokens = read = 0
    for side, texts, read in _read_ahead(_batches(tagged, lambda side: writers[side].full, BATCH_CHARACTERS)):
        writer = writers[side]
        before = writer.tokens
        writer.add(encode(texts))
        tokens += writer.tokens - before
        progress.update(tokens, read)
    progress.update(tokens, total_characters, final=True)
    return {side: writer.close() for side, writer in writers.items()}


def tokenize_split(split, tokenizer, outputs: dict[str, str | Path], max_test_tokens: int | None = None, workdir: Path = Path(".")) -> dict[str, dict]:
    """Both sides of a corpus split (lmtune.core.splits.Split), read in one pass, into a
    store each at `outputs[side]`; an interrupted run leaves neither in place."""
    import contextlib

    with contextlib.ExitStack() as stack:
        folders = {side: stack.enter_context(atomic.directory(path)) for side, path in outputs.items()}
        tagged = (("test" if is_test else "train", text) for is_test, text in split.sides(workdir))
        stores = write_stores(
            tagged, tokenizer, folders, sum(split.characters.values()), {"test": max_test_tokens}, label=split.corpus.describe()
        )
        counts = split.counts()
        for side, store in stores.items():
            cut = f", cut at max_test_tokens={max_test_tokens}" if side == "test" and store["max_tokens"] and store["tokens"] >= store["max_tokens"] else ""
            log.info("%s: %d of %d documents, %d tokens (%s)%s", side, store["documents"], counts[side], store["tokens"], store["dtype"], cut)
    return stores


def tokenize_documents(texts: list[str], tokenizer, output: str | Path, label: str) -> dict:
    """Documents held in a list (the Java snippets) into one store at `output`; an
    interrupted run leaves nothing in place."""
    with atomic.directory(output) as folder:
        store = write_stores((("all", text) for text in texts), tokenizer, {"all": folder}, sum(map(len, texts)), label=label)["all"]
    log.info("%s: %d documents, %d tokens (%s)", label, store["documents"], store["tokens"], store["dtype"])
    return store


# --- Reading ---


class TokenStore:
    """A store's ids and document ends, memory-mapped (read only)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        try:
            self.metadata = json.loads((self.folder / METADATA).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CorpusError(f"{self.folder} is no token store (no {METADATA})") from None
        self.ids = self._map(IDS, self.metadata["dtype"], self.metadata["tokens"])
        self.document_ends = self._map(DOCUMENT_ENDS, self.metadata["document_ends_dtype"], self.metadata["documents"])

    def _map(self, name: str, dtype: str, count: int) -> np.ndarray:
        if count == 0:
            return np.zeros(0, dtype=dtype)
        return np.memmap(self.folder / name, dtype=dtype, mode="r", shape=(count,))

    def __len__(self) -> int:
        return int(self.metadata["tokens"])

    def bytes_on_disk(self) -> int:
        return sum(path.stat().st_size for path in self.folder.iterdir() if path.is_file())


class Blocks:
    """A sequence of blocks ({input_ids, attention_mask, labels}): an index gives a row of
    Python lists (as a saved `datasets` table gives it); a slice gives a batch of torch
    tensors (as its torch format does)."""

    def __len__(self) -> int:
        raise NotImplementedError

    def row(self, index: int) -> dict[str, list[int]]:
        raise NotImplementedError

    def __getitem__(self, index):
        if isinstance(index, slice):
            import torch

            rows = [self.row(i) for i in range(*index.indices(len(self)))]
            return {key: torch.tensor([row[key] for row in rows], dtype=torch.long) for key in ("input_ids", "attention_mask", "labels")}
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"block {index} of {len(self)}")
        return self.row(index)

    def __iter__(self):
        return (self.row(i) for i in range(len(self)))

    def select(self, indices) -> "Blocks":
        return SelectedBlocks(self, [int(i) for i in indices])


class TokenBlocks(Blocks):
    """A store's token stream cut into `block_size` blocks at load."""

    def __init__(self, store: TokenStore | str | Path, block_size: int):
        self.store = store if isinstance(store, TokenStore) else TokenStore(store)
        if block_size < 2:
            raise ValueError(f"block_size must be at least 2, got {block_size}")
        tokens = len(self.store)
        if tokens < block_size:
            raise CorpusError(
                f"{self.store.folder} has {tokens} tokens, fewer than one block of {block_size}: "
                "give it more text or lower block_size"
            )
        self.block_size = block_size
        self.pad_id = int(self.store.metadata["pad_id"])
        full, tail = divmod(tokens, block_size)
        self.length = full + (tail > 1)  # a lone trailing token has nothing to predict

    def __len__(self) -> int:
        return self.length

    def row(self, index: int) -> dict[str, list[int]]:
        start = index * self.block_size
        chunk = self.store.ids[start : start + self.block_size].astype(np.int64).tolist()
        pad = self.block_size - len(chunk)
        return {
            "input_ids": chunk + [self.pad_id] * pad,
            "attention_mask": [1] * len(chunk) + [0] * pad,
            "labels": chunk + [IGNORE_INDEX] * pad,
        }

    def predicted_tokens(self) -> int:
        """Every real token but the first of a block."""
        tokens = len(self.store)
        full, tail = divmod(tokens, self.block_size)
        return full * (self.block_size - 1) + max(tail - 1, 0)


class SelectedBlocks(Blocks):
    def __init__(self, blocks: Blocks, indices: list[int]):
        self.blocks, self.indices = blocks, indices

    def __len__(self) -> int:
        return len(self.indices)

    def row(self, index: int) -> dict[str, list[int]]:
        return self.blocks[self.indices[index]]


class ConcatenatedBlocks(Blocks):
    def __init__(self, parts: list):
        self.parts = list(parts)
        self.starts = np.cumsum([0] + [len(part) for part in self.parts])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def row(self, index: int) -> dict[str, list[int]]:
        part = int(np.searchsorted(self.starts, index, side="right")) - 1
        return self.parts[part][index - int(self.starts[part])]


def concatenate_blocks(parts: list):
    """Blocks one after another: saved `datasets` tables stay one (datasets'
    concatenation); any other mix becomes a ConcatenatedBlocks."""
    import datasets

    if all(isinstance(part, datasets.Dataset) for part in parts):
        return datasets.concatenate_datasets(parts)
    return ConcatenatedBlocks(parts)

