"""Prompt/answer examples tokenized for completion-only training.

The text is `<bos>{prompt}{separator}{answer}<eos>` with the tokenizer's own special
tokens; the separator (a space for the arithmetic task, a newline after a Java comment)
belongs to the answer, so generation from `<bos>{prompt}` starts with it. The
loss covers the answer and the end token only: prompt tokens get label -100. Tokens are
assigned to the prompt by their character offsets in the formatted text, not by
searching for a marker's tokens, which tokenizers merge differently in context.

A chat (a list of `{role, content}` turns) is rendered by the tokenizer's own chat
template instead, and the loss covers the assistant turns only, found the same way: by
the character spans the template gives each assistant turn in the rendered text.
"""

from __future__ import annotations

import logging

from lmtune.core.blocks import IGNORE_INDEX
from lmtune.core.errors import ModelError, TrainingError

log = logging.getLogger(__name__)


def prompt_text(tokenizer, prompt: str) -> str:
    """What the model sees at generation time."""
    return f"{tokenizer.bos_token or ''}{prompt}"


def encode_text(
    tokenizer, text: str, learned: list[tuple[int, int]], learn_entering: bool = False
) -> dict[str, list[int]]:
    """Tokenize `text`; tokens that start inside one of the `learned` character spans
    (begin, end) get their id as label, every other token -100. With `learn_entering`,
    so does a token that starts before a span and runs into it: a chat template's
    trailing space merged with the answer's first word ("[assistant]:" + " Cuatro"),
    which would otherwise never be learned (transformers' assistant mask does the same).
    """
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    labels = [
        token
        if any(begin <= start < end or (learn_entering and start < begin < stop) for begin, end in learned)
        else IGNORE_INDEX
        for token, (start, stop) in zip(encoded["input_ids"], encoded["offset_mapping"])
    ]
    return {
        "input_ids": encoded["input_ids"],
        "attention_mask": [1] * len(labels),
        "labels": labels,
        "length": len(labels),
    }


def encode_example(tokenizer, prompt: str, answer: str, separator: str = " ") -> dict[str, list[int]]:
    head = prompt_text(tokenizer, prompt)
    text = f"{head}{separator}{answer}{tokenizer.eos_token}"
    # A token that starts inside the prompt belongs to it, even if it runs past its end.
    example = encode_text(tokenizer, text, [(len(head), len(text))])
    if example["labels"][-1] != tokenizer.eos_token_id:
        raise ValueError(f"the end token was not kept as the last token of {text!r}")
    return example


def encode_chat(tokenizer, messages: list[dict]) -> dict[str, list[int]]:
    """A conversation rendered by the tokenizer's chat template, the loss on the
    assistant turns only.

    An assistant turn's span runs from the end of the conversation before it, rendered
    with the generation prompt (SmolLM2's `<|im_start|>assistant` line), to the end of
    the conversation through it: its content and the template's end-of-turn text, so
    that the model learns to end its turn. This needs a template that renders the start
    of a conversation as the start of the whole; one that does not (earlier turns
    rewritten, as by templates that drop earlier reasoning) is refused.
    """
    if not getattr(tokenizer, "chat_template", None):
        raise ModelError(
            f"the tokenizer of {tokenizer.name_or_path} has no chat template: chat data (`messages`) "
            "needs one; use prompt/completion data, or a model folder whose tokenizer_config.json has one"
        )

    def render(turns: list[dict], generation_prompt: bool = False) -> str:
        return tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=generation_prompt)

    text = render(messages)
    learned = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before, through = render(messages[:index], generation_prompt=True), render(messages[: index + 1])
        if not (text.startswith(through) and through.startswith(before)):
            raise ModelError(
                f"the chat template of {tokenizer.name_or_path} renders the conversation up to turn {index} "
                "differently from the start of the whole conversation, so the assistant's tokens cannot be "
                "found by position"
            )
        if message["content"].strip() not in through[len(before):]:
            raise ModelError(
                f"the chat template of {tokenizer.name_or_path} does not write assistant turn {index}'s "
                "content as given, so its tokens cannot be found"
            )
        learned.append((len(before), len(through)))
    return encode_text(tokenizer, text, learned, learn_entering=True)


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


# Attention implementations that keep packed examples apart by their position ids
# (flex_attention: a document mask from the restarts, tests/test_packing_flex.py).
PACKING_ATTENTION = ("flash_attention_2", "flash_attention_3", "flex_attention", "sdpa")

# The figure: benchmarks/padding.py on SmolLM2-135M's architecture, bf16 LoRA, the
# arithmetic and Java instruction sets at batch 8 and 64 (README, Benchmarks).
SDPA_PACKING_WARNING = (
    "packing under sdpa attention: sdpa attends over the whole packed row under a block mask, and measured "
    "slower than padding each batch to its longest example (0.53-0.75x the non-pad tokens/s on an H200, "
    "benchmarks/padding.py); the variable-length kernels packing is meant for are flash attention's "
    "(attn_implementation='flash_attention_2', the flash-attn package)"
)


def packing_collator(model):
    """Packs a batch into one row without padding, position ids restarting at 0 for each
    example (transformers' DataCollatorWithFlattening), for `model` on CUDA. Turns the
    model's cache off, which training does not use and which would undo the packing.

    The attention must keep packed examples apart: flash attention reads the restarts as
    sequence boundaries (its variable-length kernels, where the gain is), sdpa builds a
    block-diagonal mask from them (correct, but slower than padding: SDPA_PACKING_WARNING).
    The first label of each example becomes -100, so no example learns to predict its
    start from the one before. A CPU has no
    variable-length kernels: sdpa would attend over the whole packed row under a block
    mask, so packing is refused there; batch by length instead.
    """
    device = next(model.parameters()).device
    if device.type != "cuda":
        raise TrainingError(
            f"packing needs the model on a CUDA device (it is on {device}); on a CPU batch by length "
            "(group_by_length) and pad to each batch's longest example instead"
        )
    attention = model.config._attn_implementation
    if attention not in PACKING_ATTENTION:
        raise TrainingError(
            f"packing needs an attention implementation that honours per-example position ids "
            f"({', '.join(PACKING_ATTENTION)}); the model uses {attention!r}: load it with "
            "attn_implementation='flash_attention_2' or 'sdpa'"
        )
    if attention == "sdpa":
        log.warning(SDPA_PACKING_WARNING)
    if model.config.use_cache:
        # With a cache, transformers (5.23) builds sdpa's mask without reading the
        # restarts, and packed examples attend to each other (tests/test_instruct.py shows it).
        log.info("packing: the model's cache is turned off (config.use_cache = False)")
        model.config.use_cache = False
    from transformers import DataCollatorWithFlattening

    return DataCollatorWithFlattening(separator_id=IGNORE_INDEX)
