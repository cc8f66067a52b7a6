"""JSON Lines files: one record per line, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

from lmtune.core import atomic


def read_jsonl(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: str | Path, records) -> None:
    atomic.write_text(path, "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
