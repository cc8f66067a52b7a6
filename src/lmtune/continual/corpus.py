"""Read a corpus and split it into train and test by paragraph.

A corpus is a UTF-8 text file whose paragraphs are separated by blank lines, JSON Lines
(`.jsonl`) with a string field `text` per record, or Parquet (`.parquet`) with a string
column `text`; a record is one paragraph. These read a small corpus whole (tests,
benchmarks, the Java corpus's split); the workflow streams a domain's corpus of any size
with lmtune.core.sources and splits it per document with lmtune.core.splits, the same way.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from lmtune.core.errors import CorpusError, missing

_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def read_corpus(path: str | Path) -> str:
    """Return the text of a UTF-8 corpus, or raise CorpusError naming the file."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"corpus file {path} {missing(path)}")
    if not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file"
        raise CorpusError(f"corpus file {path} is {kind}; name a UTF-8 text file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"corpus file {path} cannot be read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"corpus file {path} is not valid UTF-8 (bad byte at offset {exc.start}); "
            "convert it, e.g. with `iconv -t utf-8`"
        ) from None
    if not text.strip():
        raise CorpusError(f"corpus file {path} is empty")
    return text


def read_paragraphs(path: str | Path) -> list[str]:
    """The paragraphs of a corpus of any kind (the module's docstring), in file order, or
    CorpusError naming the file, and the line or row of a bad record: the documents that
    lmtune.core.sources streams, held in a list."""
    from lmtune.core.sources import CorpusSpec, documents

    return list(documents(CorpusSpec(path=str(path))))


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs are separated by blank lines; line breaks inside one are kept."""
    text = text.replace("\r\n", "\n").lstrip("\ufeff")
    return [p.strip() for p in _BLANK_LINE.split(text) if p.strip()]


def split_train_test(
    paragraphs: list[str], test_fraction: float, seed: int, source: str = "corpus"
) -> tuple[list[str], list[str]]:
    """Deterministic split: the same paragraphs, fraction and seed give the same split.

    Paragraphs are drawn for the test split by a seeded shuffle of their positions; each
    split keeps the corpus order so it still reads as text. No paragraph is in both.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    if len(paragraphs) < 2:
        raise CorpusError(
            f"{source} has {len(paragraphs)} paragraph(s); a train/test split needs at least 2 "
            "(separate paragraphs with a blank line)"
        )
    n_test = min(len(paragraphs) - 1, max(1, round(len(paragraphs) * test_fraction)))
    order = list(range(len(paragraphs)))
    random.Random(seed).shuffle(order)
    test_ids = set(order[:n_test])
    train = [p for i, p in enumerate(paragraphs) if i not in test_ids]
    test = [p for i, p in enumerate(paragraphs) if i in test_ids]
    return train, test


def join_paragraphs(paragraphs: list[str]) -> str:
    """Inverse of split_paragraphs, for writing a split back to a text file."""
    return "\n\n".join(paragraphs) + "\n"
