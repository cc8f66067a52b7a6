import random

import pytest

from lmtune.arithmetic import (
    generate_datasets,
    greedy_addends,
    number_word,
    parse_answer,
    random_addends,
    score,
    split_targets,
)

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
    assert len({e.answer for e in greedy if e.target == greedy[0].target}) == 1


def test_training_answers_are_written_in_words_and_sum_to_the_target():
    sets = generate_datasets(SETTINGS)
    assert len(sets["train"]) == 200
    first = sets["train"][0]
    assert first.prompt == f"[INST] {first.target} es igual a [/INST]"
    for example in sets["train"]:
        parsed = parse_answer(example.answer)
        assert parsed.well_formed and parsed.total == example.target
        assert not any(ch.isdigit() for ch in example.answer)


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
    "text, total, well_formed",
    [
        (" cinco más tres más ocho", 16, True),
        ("veintiuno más doce.", 33, True),
        ("nueve más nueve\nmás cosas", 18, False),
        ("The answer is 33", None, False),
        (" ocho más uno más uno más", 10, False),
        (" diez más diez más nue", 20, False),
        ("diez más foo más dos", None, False),
        ("", None, False),
    ],
)
def test_answers_are_parsed_with_text2num(text, total, well_formed):
    parsed = parse_answer(text)
    assert parsed.total == total and parsed.well_formed == well_formed


def test_score_counts_format_exact_sums_and_unparsable():
    records = [
        {"target": 10, "parsed_sum": 10, "well_formed": True},
        {"target": 20, "parsed_sum": 17, "well_formed": True},
        {"target": 30, "parsed_sum": None, "well_formed": False},
        {"target": 40, "parsed_sum": 41, "well_formed": False},
    ]
    figures = score(records)
    assert figures == {
        "prompts": 4,
        "format_rate": 0.5,
        "exact_sum_rate": 0.25,
        "mean_absolute_error": pytest.approx((0 + 3 + 1) / 3),
        "unparsable": 1,
    }
    assert number_word(33) == "treinta y tres"
