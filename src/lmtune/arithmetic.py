"""The arithmetic task of seed 003: a number written as a sum of Spanish number words.

`[INST] 33 es igual a [/INST] cinco más tres más ocho ...`: the model must answer with
addends whose sum is the number. Numbers are written with num2words and read back with
text2num, maintained libraries, rather than a table of our own.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from functools import lru_cache
from statistics import fmean

from num2words import num2words
from text_to_num import text2num

SEPARATOR = " más "


@dataclass(frozen=True)
class Example:
    prompt: str  # the instruction, without special tokens
    target: int
    answer: str = ""  # the reference answer (training and held-out examples)
    kind: str = "in_range"  # in_range | out_of_range | compound

    def to_dict(self) -> dict:
        return asdict(self)


def number_word(value: int) -> str:
    return num2words(value, lang="es")


def greedy_addends(target: int, low: int, high: int) -> list[int]:
    """The canonical series: the largest addend as often as it fits, then the rest."""
    addends, rest = [], target
    while rest:
        step = next((a for a in range(min(high, rest), low - 1, -1) if rest - a == 0 or rest - a >= low), None)
        if step is None:
            raise ValueError(f"target {target} cannot be written with addends in [{low}, {high}]")
        addends.append(step)
        rest -= step
    return addends


def random_addends(target: int, low: int, high: int, rng: random.Random) -> list[int]:
    """Addends in [low, high] summing to target; each drawn uniformly among those that
    leave a remainder that can still be completed."""
    addends, rest = [], target
    while rest:
        choices = [a for a in range(low, min(high, rest) + 1) if rest - a == 0 or rest - a >= low]
        if not choices:
            raise ValueError(f"target {target} cannot be written with addends in [{low}, {high}]")
        addends.append(rng.choice(choices))
        rest -= addends[-1]
    return addends


def answer_text(addends: list[int]) -> str:
    return SEPARATOR.join(number_word(a) for a in addends)


def split_targets(low: int, high: int, held_out: int, seed: int) -> tuple[list[int], list[int]]:
    """Targets for training and targets never trained on (held out for evaluation)."""
    targets = list(range(low, high + 1))
    if not 0 < held_out < len(targets):
        raise ValueError(f"held_out_targets must be between 1 and {len(targets) - 1}, got {held_out}")
    held = sorted(random.Random(seed).sample(targets, held_out))
    return [t for t in targets if t not in held], held


def generate_datasets(settings: dict) -> dict[str, list[Example]]:
    """Training examples, held-out prompts and out-of-distribution prompts.

    settings: template, train_examples, target_range [lo, hi], addend_range [lo, hi],
    addends ("random": a fresh random series per example, as the seed; "greedy": one
    canonical series per target), held_out_targets, out_of_range_targets,
    compound_prompts, seed.
    """
    rng = random.Random(settings["seed"])
    template = settings["template"]
    low, high = settings["target_range"]
    add_low, add_high = settings["addend_range"]
    train_targets, held_targets = split_targets(low, high, settings["held_out_targets"], settings["seed"])

    def prompt(expression) -> str:
        return template.format(target=expression)

    def addends(target: int, generator: random.Random = rng) -> list[int]:
        if settings.get("addends", "random") == "greedy":
            return greedy_addends(target, add_low, add_high)
        return random_addends(target, add_low, add_high, generator)

    train = []
    for _ in range(settings["train_examples"]):
        target = rng.choice(train_targets)
        train.append(Example(prompt(target), target, answer_text(addends(target))))
    # The held-out prompts get a reference answer too, for measuring loss on them; a
    # generator of its own keeps the other sets as they were.
    reference_rng = random.Random(settings["seed"] + 1)
    held_out = [Example(prompt(t), t, answer_text(addends(t, reference_rng))) for t in held_targets]
    seen = [Example(prompt(t), t) for t in train_targets]
    out_of_range = [Example(prompt(t), t, kind="out_of_range") for t in settings["out_of_range_targets"]]
    compound = []
    for _ in range(settings["compound_prompts"]):
        a = rng.randint(low // 2, high // 2)
        b = rng.randint(low // 2, high - a)
        compound.append(Example(prompt(f"{a} más {b}"), a + b, kind="compound"))
    return {
        "train": train,
        "eval_seen": seen,
        "eval_held_out": held_out,
        "eval_ood": out_of_range + compound,
    }


# Why an answer is or is not well formed; one code per answer, the first problem met
# reading it left to right. The README's arithmetic section defines each.
REASONS = ("ok", "single_number", "addend_out_of_range", "trailing_text", "truncated", "unknown_word", "empty")


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


def _number_word_before_symbols(text: str) -> int | None:
    """The value of a number word that `text` starts with when punctuation or symbols,
    not another word, follow it (`doce.`, `dos = nueve`)."""
    for end in range(len(text) - 1, 0, -1):
        rest = text[end:].lstrip()
        if not text[end].isalpha() and rest and not rest[0].isalpha():
            value = read_number_word(text[:end])
            if value is not None:
                return value
    return None


def parse_answer(text: str, addend_range: tuple[int, int] | list[int]) -> ParsedAnswer:
    """Read a generated answer: its first line (up to a newline or the end of the text),
    surrounding spaces removed, must be number words joined by " más ", each addend in
    `addend_range`, and nothing else.

    A sum is still read from an answer that is not well formed when every addend before
    the problem is complete: text after a complete sum (`diez más dos.`), an addend out of
    range, one number on its own, or an answer that stops inside an addend or after a
    dangling "más" with no newline after it (the token limit).
    """
    low, high = addend_range
    line, newline, _ = text.partition("\n")
    line = line.strip()
    if not line:
        return ParsedAnswer("empty", None)
    parts = (line + " ").split(SEPARATOR)
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
        if leading is not None:
            return ParsedAnswer("trailing_text", [*addends, leading])
        if not last and addends:  # "diez más" and a newline: a sum with junk after it
            return ParsedAnswer("trailing_text", addends)
        return ParsedAnswer("unknown_word", None)
    addends.append(value)
    in_range = [low <= a <= high for a in addends]
    if len(addends) == 1 and not in_range[0]:
        return ParsedAnswer("single_number", addends)
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
