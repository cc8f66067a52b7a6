"""Read a user's instruction data, check every record, split it and find overlaps.

A file holds records of one format, named by `instruct.data.format` or, with `auto`,
decided by its first record's fields:

- prompt_completion: string fields `prompt` and `completion` (the completion not empty);
- chat: a field `messages`, a list of `{"role": ..., "content": ...}` turns, each role
  one of system, user and assistant, that opens with a system or user turn and has at
  least one `assistant` turn, none of them empty;
- alpaca: string fields `instruction`, `output` and, optionally, `input`: read as a chat
  of one user turn (the instruction, then the input on the next line) and its answer;
- sharegpt: a field `conversations`, a list of `{"from": ..., "value": ...}` turns, each
  `from` one of system, human and gpt: read as the chat of those turns.

Files are JSON Lines (`.jsonl`), CSV (`.csv`, with a header; a `messages` or
`conversations` cell holds the list as JSON), Parquet (`.parquet`), or a folder written
by `datasets`' `save_to_disk` (one split). A bad record stops the read with a
`DataError` naming the file, the line (text files) or row (1 = the first record) and the
field.
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

from lmtune.core.errors import DataError, missing
from lmtune.core.jsonl import jsonl_lines

log = logging.getLogger(__name__)

FORMATS = ".jsonl, .csv, .parquet, or a folder saved by datasets' save_to_disk"
# The record formats (instruct.data.format, beside `auto`), each with the fields that
# mark it, in the order `auto` tries them.
RECORD_FORMATS = {
    "chat": ("messages",),
    "sharegpt": ("conversations",),
    "alpaca": ("instruction", "output"),
    "prompt_completion": ("prompt", "completion"),
}
AUTO = "auto"
# Fields that hold a list of turns: a CSV cell holds it as JSON.
_TURN_LISTS = ("messages", "conversations")
CHAT_ROLES = ("system", "user", "assistant")
# A ShareGPT turn's `from` -> the chat role it is.
SHAREGPT_ROLES = {"system": "system", "human": "user", "gpt": "assistant"}


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


def read_examples(path: str | Path, record_format: str = AUTO) -> list[Example]:
    """Every record of one data file, checked, in file order: records of `record_format`
    (one of RECORD_FORMATS), or of the format its first record's fields mark (`auto`)."""
    if record_format != AUTO and record_format not in RECORD_FORMATS:
        raise DataError(f"unknown record format {record_format!r}; expected one of {AUTO}, {', '.join(RECORD_FORMATS)}")
    path = Path(path)
    records = _records(path)
    examples, why = [], f"the file is read as {record_format} data"
    for where, record in records:
        if not isinstance(record, dict):
            raise DataError(f"{where}: a record must be an object with fields, not {type(record).__name__}")
        if record_format == AUTO:
            record_format = _detect(record, where)
            why = f"the file is {record_format} data, from its first record"
        examples.append(_READERS[record_format](record, where, why))
    if not examples:
        raise DataError(f"{path} holds no records")
    return examples


def _records(path: Path) -> Iterator[tuple[str, object]]:
    if path.is_dir():
        return _saved_dataset_records(path)
    if not path.is_file():
        raise DataError(f"data file {path} {missing(path)}")
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
        for name in _TURN_LISTS:
            if name in record:
                try:
                    record[name] = json.loads(record[name])
                except json.JSONDecodeError as exc:
                    raise DataError(f"{where}: field {name!r} is not valid JSON ({exc.msg}, column {exc.colno})") from None
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


def _detect(record: dict, where: str) -> str:
    """The format whose fields the record has (any one of them: a missing other is then
    named as missing)."""
    for name, fields in RECORD_FORMATS.items():
        if any(field in record for field in fields):
            return name
    expected = "; ".join(f"{' and '.join(map(repr, fields))} ({name})" for name, fields in RECORD_FORMATS.items())
    raise DataError(
        f"{where}: a record of no known format (it has {', '.join(map(repr, record)) or 'no field'}); "
        f"expected the fields {expected}; instruct.data.format accepts {AUTO}, {', '.join(RECORD_FORMATS)}"
    )


def _text(value, where: str, name: str, why: str) -> str:
    if value is None:
        raise DataError(f"{where}: field {name!r} is missing ({why})")
    if not isinstance(value, str):
        raise DataError(f"{where}: field {name!r} is {type(value).__name__}, not a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate, such as JSON's "\ud800"
        raise DataError(f"{where}: field {name!r} is not valid Unicode text (character {exc.start})") from None
    return value


def _answer(value, where: str, name: str, why: str) -> str:
    answer = _text(value, where, name, why)
    if not answer.strip():
        raise DataError(f"{where}: field {name!r} is empty: nothing to learn")
    return answer


def _prompt_completion(record: dict, where: str, why: str) -> PromptCompletion:
    prompt = _text(record.get("prompt"), where, "prompt", why)
    return PromptCompletion(prompt, _answer(record.get("completion"), where, "completion", why), where)


def _alpaca(record: dict, where: str, why: str) -> Conversation:
    instruction = _text(record.get("instruction"), where, "instruction", why)
    extra = record.get("input")
    extra = _text(extra, where, "input", why) if extra is not None else ""
    output = _answer(record.get("output"), where, "output", why)
    # The instruction, then its input on the next line, as LLaMA-Factory joins them.
    question = f"{instruction}\n{extra}" if extra.strip() else instruction
    return Conversation((("user", question), ("assistant", output)), where)


def _chat(record: dict, where: str, why: str) -> Conversation:
    return _turns(record, where, why, "messages", ("role", "content"), dict(zip(CHAT_ROLES, CHAT_ROLES)))


def _sharegpt(record: dict, where: str, why: str) -> Conversation:
    return _turns(record, where, why, "conversations", ("from", "value"), SHAREGPT_ROLES)


def _turns(record: dict, where: str, why: str, field_name: str, keys: tuple[str, str], roles: dict[str, str]) -> Conversation:
    """The conversation in the list `field_name` of turns, each an object with a role
    (`keys[0]`, one of `roles`, which maps it to a chat role) and a content (`keys[1]`)."""
    role_key, content_key = keys
    messages = record.get(field_name)
    if not isinstance(messages, list) or not messages:
        what = f"missing ({why})" if messages is None else f"{type(messages).__name__}, not a non-empty list of turns"
        raise DataError(f"{where}: field {field_name!r} is {what}")
    turns = []
    for index, turn in enumerate(messages):
        name = f"{field_name}[{index}]"
        if not isinstance(turn, dict):
            raise DataError(f"{where}: field {name} is {type(turn).__name__}, not an object with {role_key!r} and {content_key!r}")
        given = _text(turn.get(role_key), where, f"{name}.{role_key}", why)
        if given not in roles:
            raise DataError(f"{where}: field {name}.{role_key} is {given!r}, not one of {', '.join(roles)}")
        role, content = roles[given], _text(turn.get(content_key), where, f"{name}.{content_key}", why)
        if role == "assistant" and index == 0:
            raise DataError(f"{where}: field {name} is an assistant turn: a conversation opens with a system or user turn")
        if role == "assistant" and not content.strip():
            raise DataError(f"{where}: field {name}.{content_key} is empty: an assistant turn must say something")
        turns.append((role, content))
    if not any(role == "assistant" for role, _ in turns):
        raise DataError(f"{where}: field {field_name!r} has no assistant turn: nothing to learn")
    return Conversation(tuple(turns), where)


_READERS = {"prompt_completion": _prompt_completion, "chat": _chat, "alpaca": _alpaca, "sharegpt": _sharegpt}


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
