import random

import pytest

from lmtune.arithmetic.scoring import REASONS, judge, parse_answer, score
from lmtune.arithmetic.tasks import generate_datasets, greedy_addends, number_word, random_addends, split_targets

SETTINGS = {
    "template": "[INST] {target} es igual a [/INST]",
    "train_examples": 200,
    "target_range": [10, 50],
    "addend_range": [1, 9],
    "held_out_targets": 8,
    "out_of_range_targets": [5, 60, 99],
    "compound_prompts": 4,
    "seed": 0,
}


def test_addends_sum_to_the_target_within_their_range():
    rng = random.Random(1)
    for target in range(10, 51):
        addends = random_addends(target, 2, 7, rng)
        assert sum(addends) == target and all(2 <= a <= 7 for a in addends)


def test_greedy_series_take_the_largest_addend_first():
    assert greedy_addends(33, 1, 10) == [10, 10, 10, 3]
    assert greedy_addends(40, 1, 10) == [10, 10, 10, 10]
    assert greedy_addends(11, 5, 9) == [6, 5]  # 9 would leave 2, below the smallest addend
    greedy = generate_datasets({**SETTINGS, "addends": "greedy", "addend_range": [1, 10]})["train"]
    assert len({e.completion for e in greedy if e.target == greedy[0].target}) == 1


def test_training_answers_are_written_in_words_and_sum_to_the_target():
    sets = generate_datasets(SETTINGS)
    assert len(sets["train"]) == 200
    first = sets["train"][0]
    assert first.prompt == f"[INST] {first.target} es igual a [/INST]"
    for example in sets["train"]:
        parsed = parse_answer(example.completion, SETTINGS["addend_range"])
        assert parsed.well_formed and parsed.total == example.target
        assert not any(ch.isdigit() for ch in example.completion)


def test_held_out_prompts_never_appear_in_training():
    sets = generate_datasets(SETTINGS)
    train_prompts = {e.prompt for e in sets["train"]}
    assert len(sets["eval_held_out"]) == 8
    assert not train_prompts & {e.prompt for e in sets["eval_held_out"]}
    assert all(10 <= e.target <= 50 for e in sets["eval_held_out"])
    ood = sets["eval_ood"]
    assert [e.target for e in ood if e.kind == "out_of_range"] == [5, 60, 99]
    compound = [e for e in ood if e.kind == "compound"]
    assert len(compound) == 4 and all(" más " in e.prompt for e in compound)
    for e in compound:
        a, b = e.prompt.removeprefix("[INST] ").split(" es igual")[0].split(" más ")
        assert int(a) + int(b) == e.target


def test_generation_is_deterministic_in_its_seed():
    assert generate_datasets(SETTINGS) == generate_datasets(SETTINGS)
    assert generate_datasets(SETTINGS)["train"] != generate_datasets({**SETTINGS, "seed": 1})["train"]
    train, held = split_targets(10, 50, 8, seed=0)
    assert len(train) == 33 and not set(train) & set(held)


@pytest.mark.parametrize(
    "text, reason, total",
    [
        (" cinco más tres más ocho", "ok", 16),
        ("cinco más tres más ocho  \n", "ok", 16),  # surrounding spaces are not part of the answer
        ("nueve más nueve\nmás cosas", "ok", 18),  # only the first line is the answer
        ("nueve", "ok", 9),  # one addend in range: with addends up to 10 the generator writes 10 as "diez"
        # One number outside the addend range is no sum (the prompt's number echoed).
        ("treinta y tres", "single_number", None),
        (" mil", "single_number", None),
        ("veinte más tres", "addend_out_of_range", 23),
        ("cero más diez", "addend_out_of_range", 10),
        # Trailing punctuation is text after the sum: the training answers never end in a
        # period, so the format does not either; the sum still counts towards the error.
        ("veintiuno más doce.", "trailing_text", 33),
        ("siete más dos = nueve", "trailing_text", 9),
        ("siete más dos es la respuesta", "unknown_word", None),  # words, not symbols, after the sum
        ("siete más dos más\n", "trailing_text", 9),
        # Addends joined by another operator are no sum, whatever follows the first.
        (" diez + diez + diez + tres", "other_operator", None),
        ("diez más dos - tres", "other_operator", None),
        ("diez más dos ×", "other_operator", None),
        ("diez más diez más 5", "unknown_word", None),
        ("diez más veintidos", "unknown_word", None),  # unaccented: not the spelling of 22
        ("uno más un\n", "unknown_word", None),
        ("uno más un", "truncated", 1),  # no newline: it may stop inside "uno"
        ("Diez más dos", "unknown_word", None),
        ("diez mas dos", "unknown_word", None),
        ("diez  más dos", "unknown_word", None),
        ("diez más foo más dos", "unknown_word", None),
        ("The answer is 33", "unknown_word", None),
        (" ocho más uno más uno más", "truncated", 10),
        (" diez más diez más nue", "truncated", 20),
        ("cua", "truncated", None),
        ("", "empty", None),
        ("  \nocho", "empty", None),
    ],
)
def test_answers_get_one_reason_code_and_a_sum_only_when_one_can_be_read(text, reason, total):
    parsed = parse_answer(text, (1, 9))
    assert (parsed.reason, parsed.total) == (reason, total)
    assert parsed.well_formed == (reason == "ok")


def test_exact_needs_a_well_formed_answer_and_the_error_is_over_parsable_answers():
    outputs = [("cinco más cinco", 10), ("diez más siete", 20), ("nueve más ocho.", 17), ("foo", 30), ("veinte", 20)]
    records = [judge({"output": output, "target": target}, (1, 9)) for output, target in outputs]
    assert [r["reason"] for r in records] == ["ok", "addend_out_of_range", "trailing_text", "unknown_word", "single_number"]
    assert [r["exact"] for r in records] == [True, False, False, False, False]
    assert records[-1]["error"] is None  # "veinte" for 20 echoes the prompt: no sum, no error
    figures = score(records)
    assert figures == {
        "prompts": 5,
        "well_formed_rate": 0.2,
        "exact_sum_rate": 0.2,
        "mean_absolute_error": pytest.approx((0 + 3 + 0) / 3),
        "parsable": 3,
        "reasons": {**dict.fromkeys(REASONS, 0), "ok": 1, "addend_out_of_range": 1, "trailing_text": 1,
                    "unknown_word": 1, "single_number": 1},
    }
    nothing = score([judge({"output": "no sé", "target": 12}, (1, 9))])
    assert nothing["mean_absolute_error"] is None and nothing["parsable"] == 0
    assert number_word(33) == "treinta y tres"
