"""The arithmetic task of seed 003: a number written as a sum of Spanish number words.

`[INST] 33 es igual a [/INST] cinco más tres más ocho ...`: the model must answer with
addends whose sum is the number. Numbers are written with num2words and read back with
text2num, maintained libraries, rather than a table of our own.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from num2words import num2words

# The word between addends in an answer ("cinco más tres").
PLUS = " más "


@dataclass(frozen=True)
class Example:
    prompt: str  # the instruction, without special tokens
    target: int
    completion: str = ""  # the reference answer (training and held-out examples)
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
    return PLUS.join(number_word(a) for a in addends)


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
