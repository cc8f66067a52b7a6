"""Completion-only masking on the real tokenizers: SmolLM2's and GPT-2's (no pad token)."""

import pytest

from lmtune.core.blocks import IGNORE_INDEX
from lmtune.core.completions import encode_example, padding_collator, prompt_text

from conftest import tiny_models


@pytest.fixture(scope="module", params=["tiny-llama", "tiny-gpt2"])
def tokenizer(request):
    from lmtune.core.models import load_tokenizer

    return load_tokenizer(tiny_models()[request.param])


def test_prompt_tokens_are_masked_and_the_end_token_is_learned(tokenizer):
    prompt, answer = "[INST] 33 es igual a [/INST]", "cinco más tres más ocho"
    example = encode_example(tokenizer, prompt, answer)
    labels, ids = example["labels"], example["input_ids"]
    n_prompt = len(tokenizer(prompt_text(tokenizer, prompt), add_special_tokens=False)["input_ids"])
    assert labels[:n_prompt] == [IGNORE_INDEX] * n_prompt
    assert all(label != IGNORE_INDEX for label in labels[n_prompt:])
    assert labels[-1] == ids[-1] == tokenizer.eos_token_id
    # The learned tokens spell the answer, and nothing of the prompt.
    learned = tokenizer.decode([t for t in labels if t != IGNORE_INDEX], skip_special_tokens=True)
    assert learned.strip() == answer


def test_the_collator_pads_labels_with_ignore_index(tokenizer):
    short = encode_example(tokenizer, "la red", "el modelo")
    long = encode_example(tokenizer, "la red de datos", "el modelo de la red")
    batch = padding_collator(tokenizer)([dict(short), dict(long)])
    assert batch["input_ids"].shape[1] == long["length"]
    pad = long["length"] - short["length"]
    assert batch["labels"][0, -pad:].tolist() == [IGNORE_INDEX] * pad
    assert batch["attention_mask"][0, -pad:].tolist() == [0] * pad
