import pytest

from lmtune.core.blocks import IGNORE_INDEX, make_blocks, predicted_tokens, token_stream, tokenize_to_dataset
from lmtune.core.errors import CorpusError


def test_blocks_pad_the_tail_with_masked_labels():
    blocks = make_blocks(list(range(10, 20)), block_size=4, pad_id=0)
    assert blocks["input_ids"] == [[10, 11, 12, 13], [14, 15, 16, 17], [18, 19, 0, 0]]
    assert blocks["attention_mask"][-1] == [1, 1, 0, 0]
    assert blocks["labels"][-1] == [18, 19, IGNORE_INDEX, IGNORE_INDEX]
    assert blocks["labels"][0] == blocks["input_ids"][0]


def test_a_lone_trailing_token_makes_no_block():
    assert len(make_blocks(list(range(9)), block_size=4, pad_id=0)["input_ids"]) == 2


def tokens(tokenizer, text):
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def test_paragraphs_end_with_the_eos_token(tiny_tokenizer):
    ids = token_stream(["la red", "el modelo"], tiny_tokenizer)
    eos = tiny_tokenizer.eos_token_id
    assert ids == tokens(tiny_tokenizer, "la red") + [eos] + tokens(tiny_tokenizer, "el modelo") + [eos]


def test_dataset_counts_predicted_tokens(tiny_tokenizer):
    paragraph = "la red de datos del modelo"
    per_paragraph = len(tokens(tiny_tokenizer, paragraph)) + 1  # and its end token
    dataset = tokenize_to_dataset([paragraph] * 5, tiny_tokenizer, block_size=8)
    # Full blocks of 8 predict 7 tokens each; a tail of n > 1 tokens predicts n - 1, and a
    # lone trailing token makes no block.
    full, tail = divmod(5 * per_paragraph, 8)
    assert len(dataset) == full + (tail > 1)
    assert predicted_tokens(dataset) == 7 * full + max(tail - 1, 0)


def test_too_short_for_one_block_is_a_clear_error(tiny_tokenizer):
    with pytest.raises(CorpusError, match="test.txt has 3 tokens, fewer than one block of 64"):
        tokenize_to_dataset(["la red"], tiny_tokenizer, block_size=64, source="test.txt")
