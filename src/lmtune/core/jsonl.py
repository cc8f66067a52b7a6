"""JSON Lines files: one record per line, written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from lmtune.core import atomic


def jsonl_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of every line of JSON Lines `text` that is not blank.

    A line ends at "\\n" only (a "\\r" before it is JSON whitespace): str.splitlines()
    also breaks at U+2028, U+2029 and other characters a JSON string holds unescaped,
    which would cut a record in two.
    """
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip(" \t\r"):
            yield number, line


def read_jsonl(path: str | Path) -> list[dict]:
    return [json.loads(line) for _, line in jsonl_lines(Path(path).read_text(encoding="utf-8"))]


def write_jsonl(path: str | Path, records) -> None:
    atomic.write_text(path, "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
