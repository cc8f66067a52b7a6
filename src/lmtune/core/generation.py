"""Greedy generation for a list of prompts, batched by length."""

from __future__ import annotations

from collections.abc import Callable

import torch
from tqdm.auto import tqdm

from lmtune.core.stopping import answer_complete_criteria


@torch.no_grad()
def generate_greedy(
    model,
    tokenizer,
    prompts: list[str],
    max_new_tokens: int,
    batch_size: int,
    answer_end: Callable[[str], int | None] | None = None,
    progress: bool = True,
) -> list[str]:
    """Return the continuation of each prompt (special tokens dropped), in input order.

    Generation ends at the end token or after `max_new_tokens`; with `answer_end` (a rule
    of `lmtune.core.stopping`), also as soon as the continuation holds a complete answer, each
    sequence of a batch on its own, and the continuation is cut just past that answer.
    Prompts are batched in order of length so left padding stays short.
    """
    from transformers import StoppingCriteriaList

    model.eval()
    device = next(model.parameters()).device
    tokenizer.padding_side = "left"
    order = sorted(range(len(prompts)), key=lambda i: len(tokenizer(prompts[i], add_special_tokens=False)["input_ids"]))
    outputs: list[str] = [""] * len(prompts)
    starts = range(0, len(order), batch_size)
    for start in tqdm(starts, desc="generate", unit="batch", disable=not progress):
        ids = order[start : start + batch_size]
        batch = tokenizer([prompts[i] for i in ids], add_special_tokens=False, return_tensors="pt", padding=True).to(device)
        prompt_length = batch["input_ids"].shape[1]
        stopping = (
            StoppingCriteriaList([answer_complete_criteria(tokenizer, prompt_length, answer_end)]) if answer_end else None
        )
        generated = model.generate(
            **batch,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            stopping_criteria=stopping,
        )
        for i, text in zip(ids, tokenizer.batch_decode(generated[:, prompt_length:], skip_special_tokens=True)):
            end = answer_end(text) if answer_end else None
            outputs[i] = text if end is None else text[:end]
    return outputs


def answer_instructions(
    model, tokenizer, instructions: list, max_new_tokens: int, batch_size: int, chat: bool = False, **kwargs
) -> list[str]:
    """Greedy answers to instructions formatted as in training: `<bos>{instruction}`, or
    with `chat` each instruction a conversation (a list of `{role, content}` turns)
    rendered by the tokenizer's chat template with the generation prompt, the start of
    the assistant turn the model is to write."""
    from lmtune.core.completions import prompt_text

    if chat:
        prompts = [tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True) for turns in instructions]
    else:
        prompts = [prompt_text(tokenizer, instruction) for instruction in instructions]
    return generate_greedy(model, tokenizer, prompts, max_new_tokens, batch_size, **kwargs)
