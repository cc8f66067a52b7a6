"""Prompt/answer examples tokenized for completion-only training.

The text is `<bos>{prompt}{separator}{answer}<eos>` with the tokenizer's own special
tokens; the separator (a space for the arithmetic task, a newline after a Java comment)
belongs to the answer, so generation from `<bos>{prompt}` starts with it. The
loss covers the answer and the end token only: prompt tokens get label -100. Tokens are
assigned to the prompt by their character offsets in the formatted text, not by
searching for a marker's tokens, which tokenizers merge differently in context.
"""

from __future__ import annotations

import datasets

from lmtune.core.blocks import IGNORE_INDEX


def prompt_text(tokenizer, prompt: str) -> str:
    """What the model sees at generation time."""
    return f"{tokenizer.bos_token or ''}{prompt}"


def encode_example(tokenizer, prompt: str, answer: str, separator: str = " ") -> dict[str, list[int]]:
    head = prompt_text(tokenizer, prompt)
    text = f"{head}{separator}{answer}{tokenizer.eos_token}"
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    # A token that starts inside the prompt belongs to it, even if it runs past its end.
    labels = [
        IGNORE_INDEX if start < len(head) else token
        for token, (start, _end) in zip(encoded["input_ids"], encoded["offset_mapping"])
    ]
    if labels[-1] != tokenizer.eos_token_id:
        raise ValueError(f"the end token was not kept as the last token of {text!r}")
    return {
        "input_ids": encoded["input_ids"],
        "attention_mask": [1] * len(labels),
        "labels": labels,
        "length": len(labels),
    }


def encode_examples(tokenizer, pairs: list[tuple[str, str]], separator: str = " ") -> datasets.Dataset:
    rows = [encode_example(tokenizer, prompt, answer, separator) for prompt, answer in pairs]
    return datasets.Dataset.from_list(rows)


def padding_collator(tokenizer, pad_to: int | None = None):
    """Pads a batch to its longest example (or to `pad_to`), labels with -100."""
    from transformers import DataCollatorForSeq2Seq

    return DataCollatorForSeq2Seq(
        tokenizer,
        padding="max_length" if pad_to else "longest",
        max_length=pad_to,
        label_pad_token_id=IGNORE_INDEX,
        return_tensors="pt",
    )
