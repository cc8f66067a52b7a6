"""Greedy generation gives what transformers' `generate` gives, while finished rows leave
the batch (the loop computes only the rows still generating)."""

from __future__ import annotations

import random

import pytest

from conftest import tiny_models


def prompts_of_mixed_lengths(count: int) -> list[str]:
    words = "public int add hola return value { } más tres es igual a".split()
    rng = random.Random(3)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(1, 15))) for _ in range(count)]


def done_at(tokens: list[int]) -> bool:
    """A rule that ends each row at its own step, read from the row's own tokens."""
    return len(tokens) >= 2 + tokens[0] % 9


@pytest.mark.parametrize("name", ["tiny-llama", "tiny-gpt2"])
def test_greedy_tokens_are_generates_while_finished_rows_leave_the_batch(name):
    import torch

    from lmtune.core.generation import generate_tokens
    from lmtune.core.models import load_model, load_tokenizer

    folder = tiny_models()[name]
    tokenizer, model = load_tokenizer(folder), load_model(folder).eval()
    tokenizer.padding_side = "left"
    batch = tokenizer(prompts_of_mixed_lengths(12), add_special_tokens=False, return_tensors="pt", padding=True)
    assert (batch["attention_mask"] == 0).any()  # left padding is exercised
    width = batch["input_ids"].shape[1]
    with torch.no_grad():
        reference = model.generate(
            **batch, max_new_tokens=10, do_sample=False, num_beams=1, eos_token_id=None, pad_token_id=tokenizer.pad_token_id
        )[:, width:].tolist()
        unstopped = generate_tokens(model, batch["input_ids"], batch["attention_mask"], 10, None)
        stopped = generate_tokens(
            model, batch["input_ids"], batch["attention_mask"], 10, None, lambda rows: [done_at(t) for t in rows]
        )
    assert unstopped == reference
    expected = [row[: next(k for k in range(1, 11) if done_at(row[:k]) or k == 10)] for row in reference]
    assert stopped == expected
    assert len({len(row) for row in stopped}) > 3  # rows left the batch at several steps


def test_rows_end_at_the_end_token_as_in_generate(tiny_tokenizer, tiny_model_dir):
    import collections

    import torch

    from lmtune.core.generation import generate_tokens
    from lmtune.core.models import load_model

    tokenizer, model = tiny_tokenizer, load_model(tiny_model_dir).eval()
    tokenizer.padding_side = "left"
    batch = tokenizer(prompts_of_mixed_lengths(16), add_special_tokens=False, return_tensors="pt", padding=True)
    width = batch["input_ids"].shape[1]

    def generate(end_token_id):
        with torch.no_grad():
            return model.generate(
                **batch, max_new_tokens=12, do_sample=False, num_beams=1, eos_token_id=end_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )[:, width:].tolist()

    # The random model's most frequent token plays the end token, so that rows end early.
    counts = collections.Counter(token for row in generate(None) for token in row)
    end = counts.most_common(1)[0][0]
    reference = [row[: row.index(end) + 1] if end in row else row for row in generate(end)]
    with torch.no_grad():
        ours = generate_tokens(model, batch["input_ids"], batch["attention_mask"], 12, end)
    assert ours == reference
    assert 1 < sum(end in row for row in ours) < len(ours)
