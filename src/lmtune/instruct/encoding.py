"""Encode checked examples for training, the loss on the answers only, and decide what
happens to examples longer than the model is to see.

Prompt/completion examples go through `lmtune.core.completions.encode_example`, the one
encoding the arithmetic and Java experiments use: `<bos>{prompt}{separator}{completion}<eos>`.
Conversations go through `encode_chat`: the tokenizer's chat template, the loss on the
assistant turns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from lmtune.core.blocks import IGNORE_INDEX
from lmtune.core.completions import encode_chat, encode_example
from lmtune.core.errors import DataError, LmtuneError
from lmtune.instruct.data import Conversation, Example

log = logging.getLogger(__name__)

OVERLONG = ("drop", "truncate")


@dataclass(frozen=True)
class LengthCounts:
    """What the length limit did to a set of examples."""

    examples: int  # read
    kept: int  # encoded, truncated ones included
    dropped: int  # longer than the limit, dropped (overlong="drop")
    truncated: int  # cut to the limit (overlong="truncate")
    no_answer_left: int  # cut to the limit with no answer token left, so dropped too


def encode_one(tokenizer, example: Example, separator: str = "") -> dict[str, list[int]]:
    try:
        if isinstance(example, Conversation):
            return encode_chat(tokenizer, example.as_dicts())
        return encode_example(tokenizer, example.prompt, example.completion, separator)
    except LmtuneError as exc:
        raise type(exc)(f"{example.where}: {exc}" if example.where else str(exc)) from None


def encode_for_training(
    tokenizer, examples: list[Example], max_length: int | None = None, overlong: str = "drop", separator: str = ""
):
    """(datasets.Dataset of input_ids, attention_mask, labels, length; LengthCounts).

    With `max_length` None every example is kept whole. An example longer than
    `max_length` tokens is dropped, or with overlong="truncate"
    cut to its first `max_length` tokens; one cut so that none of its answer tokens is
    left teaches nothing and is dropped too. The counts are logged.
    `separator` goes between prompt and completion (none by default: the data's own
    text decides, as in TRL's prompt/completion format).
    """
    import datasets

    if overlong not in OVERLONG:
        raise DataError(f"overlong must be one of {', '.join(OVERLONG)}, got {overlong!r}")
    rows, dropped, truncated, no_answer_left = [], 0, 0, 0
    for example in examples:
        row = encode_one(tokenizer, example, separator)
        if max_length is not None and row["length"] > max_length:
            if overlong == "drop":
                dropped += 1
                continue
            row = {key: row[key][:max_length] for key in ("input_ids", "attention_mask", "labels")} | {"length": max_length}
            if all(label == IGNORE_INDEX for label in row["labels"]):
                no_answer_left += 1
                continue
            truncated += 1
        rows.append(row)
    counts = LengthCounts(len(examples), len(rows), dropped, truncated, no_answer_left)
    log.info(
        "kept %d of %d examples (max_length %s): %d longer dropped, %d truncated, %d dropped with no answer token left",
        counts.kept, counts.examples, max_length, dropped, truncated, no_answer_left,
    )
    if not rows:
        raise DataError(
            f"no example is left: all {len(examples)} are longer than max_length {max_length} "
            f"({'dropped' if overlong == 'drop' else 'truncated before their answer'})"
        )
    return datasets.Dataset.from_list(rows), counts
