"""Greedy generation for a list of prompts, batched by length."""

from __future__ import annotations

import torch
from tqdm.auto import tqdm


@torch.no_grad()
def generate_greedy(
    model,
    tokenizer,
    prompts: list[str],
    max_new_tokens: int,
    batch_size: int,
    stop_strings: list[str] | None = None,
    progress: bool = True,
) -> list[str]:
    """Return the continuation of each prompt (special tokens dropped), in input order.

    Generation ends at the end token, at any of `stop_strings`, or after
    `max_new_tokens`. Prompts are batched in order of length so left padding stays short.
    """
    model.eval()
    device = next(model.parameters()).device
    tokenizer.padding_side = "left"
    order = sorted(range(len(prompts)), key=lambda i: len(tokenizer(prompts[i], add_special_tokens=False)["input_ids"]))
    outputs: list[str] = [""] * len(prompts)
    starts = range(0, len(order), batch_size)
    for start in tqdm(starts, desc="generate", unit="batch", disable=not progress):
        ids = order[start : start + batch_size]
        batch = tokenizer([prompts[i] for i in ids], add_special_tokens=False, return_tensors="pt", padding=True).to(device)
        generated = model.generate(
            **batch,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            stop_strings=stop_strings,
            tokenizer=tokenizer if stop_strings else None,
        )
        new_tokens = generated[:, batch["input_ids"].shape[1] :]
        for i, text in zip(ids, tokenizer.batch_decode(new_tokens, skip_special_tokens=True)):
            outputs[i] = text
    return outputs


def answer_instructions(model, tokenizer, instructions: list[str], max_new_tokens: int, batch_size: int, **kwargs) -> list[str]:
    """Greedy answers to instructions formatted as in training (`<bos>{instruction}`)."""
    from .instruct import prompt_text

    prompts = [prompt_text(tokenizer, instruction) for instruction in instructions]
    return generate_greedy(model, tokenizer, prompts, max_new_tokens, batch_size, **kwargs)
