"""Tokenize text into fixed-length causal-LM blocks, stored with `datasets` on disk.

Paragraphs are tokenized one by one, each followed by the end-of-text token, and the
stream is cut into blocks of `block_size`. The last, shorter block is padded: pad
positions get attention mask 0 and label -100, so they never count in a loss.
"""

from __future__ import annotations

from pathlib import Path

from lmtune.core.errors import CorpusError

IGNORE_INDEX = -100


def token_stream(paragraphs: list[str], tokenizer) -> list[int]:
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has no end-of-text token to separate paragraphs")
    ids: list[int] = []
    for paragraph in paragraphs:
        ids.extend(tokenizer(paragraph, add_special_tokens=False)["input_ids"])
        ids.append(tokenizer.eos_token_id)
    return ids


def make_blocks(ids: list[int], block_size: int, pad_id: int) -> dict[str, list[list[int]]]:
    """Cut a token stream into blocks; the labels equal the inputs (the model shifts them)."""
    if block_size < 2:
        raise ValueError(f"block_size must be at least 2, got {block_size}")
    columns: dict[str, list[list[int]]] = {"input_ids": [], "attention_mask": [], "labels": []}
    for start in range(0, len(ids), block_size):
        chunk = ids[start : start + block_size]
        if len(chunk) < 2:  # a lone token has nothing to predict
            continue
        pad = block_size - len(chunk)
        columns["input_ids"].append(chunk + [pad_id] * pad)
        columns["attention_mask"].append([1] * len(chunk) + [0] * pad)
        columns["labels"].append(chunk + [IGNORE_INDEX] * pad)
    return columns


def tokenize_to_dataset(
    paragraphs: list[str], tokenizer, block_size: int, source: str = "text"
) -> datasets.Dataset:
    ids = token_stream(paragraphs, tokenizer)
    if len(ids) < block_size:
        raise CorpusError(
            f"{source} has {len(ids)} tokens, fewer than one block of {block_size}: "
            "give it more text or lower block_size"
        )
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    import datasets  # here: an evaluation from a token store never needs it (a second of every job's start)

    return datasets.Dataset.from_dict(make_blocks(ids, block_size, pad_id))


def predicted_tokens(dataset) -> int:
    """Tokens a causal LM predicts in this data: every real token but the first of a block."""
    if hasattr(dataset, "predicted_tokens"):  # a token store's blocks (lmtune.core.tokenstore)
        return dataset.predicted_tokens()
    return sum(sum(mask) - 1 for mask in dataset.with_format(None)["attention_mask"])


def load_blocks(path: str | Path, block_size: int | None = None):
    """Blocks saved with `datasets` (torch format), or a token store's cut into
    `block_size` blocks as they load (lmtune.core.tokenstore)."""
    from lmtune.core.tokenstore import TokenBlocks, is_store

    if is_store(path):
        if block_size is None:
            raise ValueError(f"{path} is a token store: its blocks need a block_size")
        return TokenBlocks(path, block_size)
    import datasets

    return datasets.load_from_disk(str(path)).with_format("torch")
