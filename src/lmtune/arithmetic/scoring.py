"""Reading a written sum back and judging it: one reason code per answer."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from statistics import fmean

from text_to_num import text2num

from lmtune.arithmetic.tasks import PLUS, number_word

# Why an answer is or is not well formed; one code per answer, the first problem met
# reading it left to right. The README's arithmetic section defines each.
REASONS = (
    "ok", "single_number", "addend_out_of_range", "trailing_text", "other_operator", "truncated", "unknown_word", "empty",
)
# Symbols that would join further addends: text after a number word that starts with one
# is a sum written with another operator, not text after a complete sum.
OPERATORS = "+-*/×÷"


@dataclass(frozen=True)
class ParsedAnswer:
    reason: str  # one of REASONS
    addends: list[int] | None  # the complete addends read; None: no sum can be read

    @property
    def well_formed(self) -> bool:
        return self.reason == "ok"

    @property
    def total(self) -> int | None:
        return None if self.addends is None else sum(self.addends)


@lru_cache(maxsize=4096)
def read_number_word(text: str) -> int | None:
    """The value of `text` when it is a number spelled exactly as num2words writes it
    (the spelling of the training answers), else None: `veintidos`, `un`, `Diez` are not."""
    if not text or text != text.strip():
        return None
    try:
        value = text2num(text, "es")
    except ValueError:
        return None
    return value if value >= 0 and number_word(value) == text else None


@lru_cache(maxsize=1)
def _word_prefixes() -> frozenset[str]:
    """Every strict prefix of the number words 0-999, to tell an answer cut off inside a
    word (`... más nue`) from an unknown word."""
    return frozenset(word[:i] for word in map(number_word, range(1000)) for i in range(len(word)))


def _number_word_before_symbols(text: str) -> tuple[int, str] | None:
    """The value of a number word that `text` starts with when punctuation or symbols,
    not another word, follow it (`doce.`, `dos = nueve`), and what follows it."""
    for end in range(len(text) - 1, 0, -1):
        rest = text[end:].lstrip()
        if not text[end].isalpha() and rest and not rest[0].isalpha():
            value = read_number_word(text[:end])
            if value is not None:
                return value, rest
    return None


def parse_answer(text: str, addend_range: tuple[int, int] | list[int]) -> ParsedAnswer:
    """Read a generated answer: its first line (up to a newline or the end of the text),
    surrounding spaces removed, must be number words joined by " más ", each addend in
    `addend_range`, and nothing else.

    A sum is still read from an answer that is not well formed when every addend before
    the problem is complete: text after a complete sum (`diez más dos.`), an addend out of
    range, or an answer that stops inside an addend or after a dangling "más" with no
    newline after it (the token limit). One number outside the addend range on its own
    (`treinta y tres` for 33: the prompt echoed) is no sum, nor are addends joined by
    another operator (`diez + diez + tres`).
    """
    low, high = addend_range
    line, newline, _ = text.partition("\n")
    line = line.strip()
    if not line:
        return ParsedAnswer("empty", None)
    parts = (line + " ").split(PLUS)
    parts[-1] = parts[-1].removesuffix(" ")  # the space added to split off a dangling "más"
    addends = []
    for part in parts[:-1]:
        value = read_number_word(part)
        if value is None:
            return ParsedAnswer("unknown_word", None)
        addends.append(value)
    last = parts[-1]
    value = read_number_word(last)
    if value is None:
        if not newline and last in _word_prefixes():
            return ParsedAnswer("truncated", addends or None)
        leading = _number_word_before_symbols(last)
        if leading is not None and leading[1][0] in OPERATORS:
            return ParsedAnswer("other_operator", None)
        if leading is not None:
            return ParsedAnswer("trailing_text", [*addends, leading[0]])
        if not last and addends:  # "diez más" and a newline: a sum with junk after it
            return ParsedAnswer("trailing_text", addends)
        return ParsedAnswer("unknown_word", None)
    addends.append(value)
    in_range = [low <= a <= high for a in addends]
    if len(addends) == 1 and not in_range[0]:  # the prompt's number echoed is no sum
        return ParsedAnswer("single_number", None)
    if not all(in_range):
        return ParsedAnswer("addend_out_of_range", addends)
    return ParsedAnswer("ok", addends)


def judge(record: dict, addend_range) -> dict:
    """A generation record (`output`, `target`) with the verdict on its answer."""
    parsed = parse_answer(record["output"], addend_range)
    total = parsed.total
    return {
        **record,
        "reason": parsed.reason,
        "addends": parsed.addends,
        "parsed_sum": total,
        "error": None if total is None else abs(total - record["target"]),
        "well_formed": parsed.well_formed,
        "exact": parsed.well_formed and total == record["target"],
    }


def score(records: list[dict]) -> dict:
    """Figures over judged records (see `judge`). Exact needs a well-formed answer; the
    mean absolute error is over parsable answers (a sum could be read), counted beside
    it, and None when there are none."""
    n = len(records)
    errors = [r["error"] for r in records if r["parsed_sum"] is not None]
    return {
        "prompts": n,
        "well_formed_rate": sum(r["well_formed"] for r in records) / n if n else None,
        "exact_sum_rate": sum(r["exact"] for r in records) / n if n else None,
        "mean_absolute_error": fmean(errors) if errors else None,
        "parsable": len(errors),
        "reasons": {reason: sum(r["reason"] == reason for r in records) for reason in REASONS},
    }
