"""The Java snippet corpus for autoregressive fine-tuning: read, deduplicate, filter.

A source is a JSON Lines file of {"code": ...} records (the shipped corpus), a folder of
`.java` files, a `.zip` of sources, or `jdk`: the JDK's own `lib/src.zip`, where the
installed JDK has one. Each snippet or file is one record, indentation kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

from lmtune.core.errors import CorpusError, missing
from lmtune.core.jsonl import jsonl_lines


def jdk_source_zip() -> Path | None:
    homes = [os.environ.get("JAVA_HOME")]
    javac = shutil.which("javac")
    if javac:
        homes.append(str(Path(os.path.realpath(javac)).parents[1]))
    for home in filter(None, homes):
        candidate = Path(home) / "lib" / "src.zip"
        if candidate.is_file():
            return candidate
    return None


def read_source(source: str) -> list[str]:
    if source == "jdk":
        found = jdk_source_zip()
        if found is None:
            raise CorpusError("java.corpus.sources names 'jdk', but this JDK has no lib/src.zip (Debian: openjdk-17-source)")
        return read_source(str(found))
    path = Path(source)
    if not path.exists():
        raise CorpusError(f"Java corpus source {path} {missing(path)}")
    if path.is_dir():
        return [file.read_text(encoding="utf-8", errors="replace") for file in sorted(path.rglob("*.java"))]
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            names = sorted(n for n in archive.namelist() if n.endswith(".java"))
            return [archive.read(n).decode("utf-8", errors="replace") for n in names]
    if path.suffix == ".jsonl":
        records = []
        for number, line in jsonl_lines(path.read_text(encoding="utf-8")):
            try:
                records.append(json.loads(line)["code"])
            except (json.JSONDecodeError, KeyError, TypeError):
                raise CorpusError(f"{path}, line {number}: not a JSON object with a 'code' field") from None
        return records
    raise CorpusError(f"Java corpus source {path}: expected a .jsonl file, a folder, a .zip or 'jdk'")


def clean_snippets(snippets: list[str], min_chars: int, max_chars: int) -> list[str]:
    """Drop snippets out of the length bounds and duplicates (same code up to whitespace)."""
    seen, kept = set(), []
    for snippet in snippets:
        snippet = snippet.replace("\r\n", "\n").strip("\n")
        if not min_chars <= len(snippet) <= max_chars:
            continue
        key = hashlib.sha1(" ".join(snippet.split()).encode()).hexdigest()
        if key not in seen:
            seen.add(key)
            kept.append(snippet)
    return kept
