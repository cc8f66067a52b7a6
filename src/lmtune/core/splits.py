"""A corpus's train/test split, decided per document and kept as a small file.

The split is drawn as lmtune.continual.corpus.split_train_test draws it (a seeded shuffle
of the documents' positions; the first `round(n * test_fraction)` are test), so the
shipped corpora split exactly as they always did. Only the decision is stored: one bit
per document, never the text; the documents are read again from the corpus by whoever
needs a side (tokenization, the cross evaluation). Memory grows with the number of
documents, not with their text.
"""

from __future__ import annotations

import base64
import logging
import random
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from lmtune.core import atomic
from lmtune.core.errors import CorpusError
from lmtune.core.sources import CorpusSpec, documents

log = logging.getLogger(__name__)
SIDES = ("train", "test")


def test_documents(n_documents: int, test_fraction: float, seed: int, source: str = "corpus") -> np.ndarray:
    """A boolean mask over the documents: True for the test side."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    if n_documents < 2:
        raise CorpusError(
            f"{source} has {n_documents} document(s); a train/test split needs at least 2, so one side "
            "would be empty (separate paragraphs with a blank line)"
        )
    n_test = min(n_documents - 1, max(1, round(n_documents * test_fraction)))
    order = list(range(n_documents))
    random.Random(seed).shuffle(order)
    mask = np.zeros(n_documents, dtype=bool)
    mask[np.asarray(order[:n_test], dtype=np.int64)] = True
    return mask


@dataclass(frozen=True)
class Split:
    """Which side each document of a corpus is on, and the corpus it was drawn from."""

    corpus: CorpusSpec
    test_mask: np.ndarray
    characters: dict  # side -> characters of its documents (the progress of a tokenization)

    def counts(self) -> dict[str, int]:
        test = int(self.test_mask.sum())
        return {"train": len(self.test_mask) - test, "test": test}

    def side_documents(self, side: str, workdir: Path = Path(".")) -> Iterator[str]:
        for is_test, document in self.sides(workdir):
            if is_test == (side == "test"):
                yield document

    def sides(self, workdir: Path = Path(".")) -> Iterator[tuple[bool, str]]:
        """(is_test, document) for every document, in corpus order; CorpusError where the
        corpus no longer holds the documents the split was drawn over."""
        count = 0
        for index, document in enumerate(documents(self.corpus, workdir)):
            if index >= len(self.test_mask):
                raise CorpusError(f"{self.corpus.describe()} has more documents than its split ({len(self.test_mask)}); split it again")
            count += 1
            yield bool(self.test_mask[index]), document
        if count != len(self.test_mask):
            raise CorpusError(f"{self.corpus.describe()} has {count} documents, its split {len(self.test_mask)}; split it again")

    def write(self, path: str | Path) -> None:
        atomic.write_json(
            path,
            {
                "corpus": self.corpus.to_setting(),
                "documents": {"all": len(self.test_mask), **self.counts()},
                "characters": self.characters,
                # One bit per document, packed: a million documents take 170 KB.
                "test_mask": base64.b64encode(np.packbits(self.test_mask).tobytes()).decode("ascii"),
            },
        )

    @classmethod
    def read(cls, path: str | Path) -> "Split":
        import json

        record = json.loads(Path(path).read_text(encoding="utf-8"))
        bits = np.frombuffer(base64.b64decode(record["test_mask"]), dtype=np.uint8)
        mask = np.unpackbits(bits, count=record["documents"]["all"]).astype(bool)
        return cls(CorpusSpec.from_setting(record["corpus"]), mask, record["characters"])


def split_corpus(setting: str | dict, test_fraction: float, seed: int, workdir: Path = Path(".")) -> Split:
    """Read the corpus once, holding no text (every shard checked: UTF-8, records, none
    empty), and draw the split; each side's characters are kept for the progress of its
    tokenization."""
    spec = CorpusSpec.from_setting(setting)
    lengths = array("q", (len(document) for document in documents(spec, workdir)))
    mask = test_documents(len(lengths), test_fraction, seed, source=spec.describe())
    sizes = np.frombuffer(lengths, dtype=np.int64) if lengths else np.zeros(0, dtype=np.int64)
    characters = {"train": int(sizes[~mask].sum()), "test": int(sizes[mask].sum())}
    split = Split(spec, mask, characters)
    counts = split.counts()
    log.info(
        "%s: %d documents; train %d documents (%d characters), test %d documents (%d characters)",
        spec.describe(), len(lengths), counts["train"], characters["train"], counts["test"], characters["test"],
    )
    return split
