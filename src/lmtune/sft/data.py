"""Read a user's instruction data, check every record, split it and find overlaps.

A file holds one of two shapes, decided by its first record:

- prompt/completion: string fields `prompt` and `completion` (the completion not empty);
- chat: a field `messages`, a list of `{"role": ..., "content": ...}` turns that opens
  with a system or user turn and has at least one `assistant` turn, none of them empty.

Files are JSON Lines (`.jsonl`), CSV (`.csv`, with a header; a `messages` cell holds the
list as JSON), Parquet (`.parquet`), or a folder written by `datasets`'
`save_to_disk` (one split). A bad record stops the read with a `DataError` naming the
file, the line (text files) or row (1 = the first record) and the field.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from lmtune.core.errors import DataError
from lmtune.core.jsonl import jsonl_lines

log = logging.getLogger(__name__)

FORMATS = ".jsonl, .csv, .parquet, or a folder saved by datasets' save_to_disk"


@dataclass(frozen=True)
class PromptCompletion:
    prompt: str
    completion: str
    # Where the record was read ("train.jsonl line 3"); not part of its identity.
    where: str = field(default="", compare=False)

    def to_record(self) -> dict:
        """The record as a JSON Lines file holds it (read_examples reads it back)."""
        return {"prompt": self.prompt, "completion": self.completion}

    @property
    def query(self) -> str:
        """What a model is given to answer at generation time."""
        return self.prompt

    @property
    def reference(self) -> str:
        """The answer a generation is scored against."""
        return self.completion


@dataclass(frozen=True)
class Conversation:
    messages: tuple[tuple[str, str], ...]  # (role, content) per turn
    where: str = field(default="", compare=False)

    def as_dicts(self) -> list[dict]:
        return [{"role": role, "content": content} for role, content in self.messages]

    def to_record(self) -> dict:
        return {"messages": self.as_dicts()}

    def _last_answer(self) -> int:
        return max(i for i, (role, _) in enumerate(self.messages) if role == "assistant")

    @property
    def query(self) -> list[dict]:
        """The turns before the last assistant turn: the model writes that turn."""
        return self.as_dicts()[: self._last_answer()]

    @property
    def reference(self) -> str:
        return self.messages[self._last_answer()][1]


Example = PromptCompletion | Conversation


def read_examples(path: str | Path) -> list[Example]:
    """Every record of one data file, checked, in file order."""
    path = Path(path)
    records = _records(path)
    examples, shape = [], None
    for where, record in records:
        if not isinstance(record, dict):
            raise DataError(f"{where}: a record must be an object with fields, not {type(record).__name__}")
        if shape is None:
            shape = _shape(record, where)
        examples.append(_conversation(record, where) if shape == "chat" else _prompt_completion(record, where, shape))
    if not examples:
        raise DataError(f"{path} holds no records")
    return examples


def _records(path: Path) -> Iterator[tuple[str, object]]:
    if path.is_dir():
        return _saved_dataset_records(path)
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    readers = {".jsonl": _jsonl_records, ".csv": _csv_records, ".parquet": _parquet_records}
    if path.suffix.lower() not in readers:
        raise DataError(f"data file {path}: unknown format {path.suffix!r}; use {FORMATS}")
    return readers[path.suffix.lower()](path)


def _utf8_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        # utf-8-sig: a byte-order mark, which spreadsheet programs write, is not data.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{path} line {line}: not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})") from None


def _jsonl_records(path: Path) -> Iterator[tuple[str, object]]:
    for number, line in jsonl_lines(_utf8_text(path)):
        try:
            yield f"{path.name} line {number}", json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path.name} line {number}: not valid JSON ({exc.msg}, column {exc.colno})") from None


def _csv_records(path: Path) -> Iterator[tuple[str, object]]:
    reader = csv.DictReader(io.StringIO(_utf8_text(path), newline=""))
    if reader.fieldnames is None:  # reads the header
        return
    start = reader.line_num + 1
    for row in reader:
        where = f"{path.name} line {start}"
        start = reader.line_num + 1  # a quoted cell may span lines: the next record starts after
        if None in row:
            raise DataError(f"{where}: more cells than the header has columns")
        record = {name: value for name, value in row.items() if value is not None}
        if "messages" in record:
            try:
                record["messages"] = json.loads(record["messages"])
            except json.JSONDecodeError as exc:
                raise DataError(f"{where}: field 'messages' is not valid JSON ({exc.msg}, column {exc.colno})") from None
        yield where, record


def _parquet_records(path: Path) -> Iterator[tuple[str, object]]:
    import pyarrow.parquet

    try:
        table = pyarrow.parquet.read_table(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, and others
        raise DataError(f"{path}: cannot read it as Parquet ({exc})") from None
    return _table_records(path.name, table)


def _saved_dataset_records(path: Path) -> Iterator[tuple[str, object]]:
    import datasets

    try:
        saved = datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as exc:
        raise DataError(f"data folder {path} is not a dataset saved by save_to_disk ({exc})") from None
    if isinstance(saved, datasets.DatasetDict):
        raise DataError(
            f"data folder {path} holds several splits ({', '.join(saved)}); name one split's folder, "
            f"such as {path / next(iter(saved))}"
        )
    return _table_records(path.name, saved.data.table)


def _table_records(name: str, table) -> Iterator[tuple[str, object]]:
    """Rows of an Arrow table, one batch at a time, so that a bad row is named."""
    number = 0
    for batch in table.to_batches():
        try:
            rows = batch.to_pylist()
        except UnicodeDecodeError as exc:
            raise DataError(f"{name} rows {number + 1}-{number + batch.num_rows}: text that is not UTF-8 ({exc.reason})") from None
        for row in rows:
            number += 1
            yield f"{name} row {number}", row


def _shape(record: dict, where: str) -> str:
    if "messages" in record:
        return "chat"
    if "prompt" in record or "completion" in record:
        return "prompt/completion"
    raise DataError(
        f"{where}: the first record has neither 'messages' (chat) nor 'prompt' and 'completion' fields "
        f"(it has {', '.join(map(repr, record)) or 'none'})"
    )


def _text(value, where: str, name: str, shape: str) -> str:
    if value is None:
        raise DataError(f"{where}: field {name!r} is missing (the file is {shape} data, from its first record)")
    if not isinstance(value, str):
        raise DataError(f"{where}: field {name!r} is {type(value).__name__}, not a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate, such as JSON's "\ud800"
        raise DataError(f"{where}: field {name!r} is not valid Unicode text (character {exc.start})") from None
    return value


def _prompt_completion(record: dict, where: str, shape: str) -> PromptCompletion:
    prompt = _text(record.get("prompt"), where, "prompt", shape)
    completion = _text(record.get("completion"), where, "completion", shape)
    if not completion.strip():
        raise DataError(f"{where}: field 'completion' is empty: nothing to learn")
    return PromptCompletion(prompt, completion, where)


def _conversation(record: dict, where: str) -> Conversation:
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        what = "missing" if messages is None else f"{type(messages).__name__}, not a non-empty list of turns"
        raise DataError(f"{where}: field 'messages' is {what}")
    turns = []
    for index, turn in enumerate(messages):
        name = f"messages[{index}]"
        if not isinstance(turn, dict):
            raise DataError(f"{where}: field {name} is {type(turn).__name__}, not an object with 'role' and 'content'")
        role = _text(turn.get("role"), where, f"{name}.role", "chat")
        content = _text(turn.get("content"), where, f"{name}.content", "chat")
        if role == "assistant" and index == 0:
            raise DataError(f"{where}: field messages[0] is an assistant turn: a conversation opens with a system or user turn")
        if role == "assistant" and not content.strip():
            raise DataError(f"{where}: field {name}.content is empty: an assistant turn must say something")
        turns.append((role, content))
    if not any(role == "assistant" for role, _ in turns):
        raise DataError(f"{where}: field 'messages' has no assistant turn: nothing to learn")
    return Conversation(tuple(turns), where)


def split_examples(examples: list[Example], validation_fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """A seeded split of one file into training and validation, each in file order."""
    if not 0 < validation_fraction < 1:
        raise DataError(f"the validation fraction must be between 0 and 1, got {validation_fraction}")
    count = round(len(examples) * validation_fraction)
    if not 0 < count < len(examples):
        raise DataError(
            f"a validation fraction of {validation_fraction} of {len(examples)} examples leaves "
            f"{'no validation' if count == 0 else 'no training'} example"
        )
    held_out = set(random.Random(seed).sample(range(len(examples)), count))
    train = [e for i, e in enumerate(examples) if i not in held_out]
    return train, [e for i, e in enumerate(examples) if i in held_out]


def warn_overlap(train: list[Example], validation: list[Example]) -> int:
    """How many validation examples are also training examples (the same prompt and
    completion, or the same messages); a warning says how many, since they make the
    validation figures look better than the model is."""
    seen = set(train)
    overlap = [e for e in validation if e in seen]
    if overlap:
        log.warning(
            "%d of %d validation examples are also in the training data (first: %s)",
            len(overlap), len(validation), overlap[0].where,
        )
    return len(overlap)
