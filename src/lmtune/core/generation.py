"""Generation for a list of prompts, batched by length: greedy, or sampled (temperature
and top-p) reproducibly."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm


@dataclass(frozen=True)
class Sampling:
    """Nucleus sampling: the logits divided by `temperature`, then a draw among the most
    likely tokens whose probabilities sum to `top_p` (Holtzman et al. 2020)."""

    temperature: float
    top_p: float
    seed: int


def row_seed(seed: int, prompt: str, occurrence: int) -> int:
    """The seed of the draws of one generation: the `occurrence`-th of `prompt` in a call.
    A function of content, not of position in a batch: a rerun, another batch size or
    other prompts beside it leave a generation's draws as they were."""
    digest = hashlib.sha256(f"{seed}\n{occurrence}\n{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # a 63-bit seed, positive in any integer type


def nucleus(probabilities: torch.Tensor, top_p: float) -> torch.Tensor:
    """Each row's probabilities with every token outside its nucleus set to 0: the nucleus
    is the most likely tokens, down to the first at which their sum reaches `top_p`."""
    if top_p >= 1:
        return probabilities
    # A language model's nucleus is mostly a few tokens: the 256 most likely, where they hold
    # every row's, else the whole vocabulary sorted (a sort cost about 10 argmaxes here).
    ordered, order = probabilities.topk(min(256, probabilities.shape[-1]), dim=-1)
    if not bool((ordered.sum(-1) >= top_p).all()):
        ordered, order = probabilities.sort(dim=-1, descending=True)
    before = ordered.cumsum(-1) - ordered  # the mass of the more likely tokens
    return torch.zeros_like(probabilities).scatter(-1, order, ordered.masked_fill(before >= top_p, 0.0))


class Sampler:
    """Draws each row's next token with a generator of its own, seeded by `row_seed`."""

    def __init__(self, sampling: Sampling, seeds: list[int], device: torch.device):
        self.sampling = sampling
        self.generators = [torch.Generator(device=device).manual_seed(seed) for seed in seeds]

    def __call__(self, logits: torch.Tensor, rows: list[int]) -> torch.Tensor:
        """The next token of each active row, given its logits and its original row: where
        one uniform draw of the row's generator falls on the row's cumulative distribution
        (one number per row and step: a torch.multinomial per row made a step 7 times slower here)."""
        probabilities = nucleus(torch.softmax(logits.float() / self.sampling.temperature, dim=-1), self.sampling.top_p)
        cumulative = probabilities.double().cumsum(-1)
        total = cumulative[:, -1:].contiguous()
        draws = torch.cat([
            torch.rand(1, generator=self.generators[row], device=logits.device, dtype=torch.float64) for row in rows
        ])
        tokens = torch.searchsorted(cumulative, draws[:, None] * total, right=True)
        # A draw rounded up to the total would fall past the end: the last token with mass takes it.
        return torch.minimum(tokens, torch.searchsorted(cumulative, total)).squeeze(-1)


@torch.no_grad()
def generate_continuations(
    model,
    tokenizer,
    prompts: list[str],
    max_new_tokens: int,
    batch_size: int,
    answer_end: Callable[[str], int | None] | None = None,
    progress: bool = True,
    sampling: Sampling | None = None,
) -> list[str]:
    """Return the continuation of each prompt (special tokens dropped), in input order:
    greedy, or with `sampling` drawn. A prompt listed n times gets n samples, each drawn
    with a seed of its own (`row_seed`).

    Generation ends at the end token or after `max_new_tokens`; with `answer_end` (a rule
    of `lmtune.core.stopping`), also as soon as the continuation holds a complete answer, each
    sequence of a batch on its own, and the continuation is cut just past that answer.
    Prompts are batched in order of length so left padding stays short.
    """
    model.eval()
    device = next(model.parameters()).device
    tokenizer.padding_side = "left"
    order = sorted(range(len(prompts)), key=lambda i: len(tokenizer(prompts[i], add_special_tokens=False)["input_ids"]))
    outputs: list[str] = [""] * len(prompts)
    seeds = []
    if sampling is not None:
        occurrences: dict[str, int] = {}
        for prompt in prompts:
            seeds.append(row_seed(sampling.seed, prompt, occurrences.get(prompt, 0)))
            occurrences[prompt] = occurrences.get(prompt, 0) + 1

    def decode(rows: list[list[int]]) -> list[str]:
        return tokenizer.batch_decode(rows, skip_special_tokens=True)

    def complete(rows: list[list[int]]) -> list[bool]:
        return [answer_end(text) is not None for text in decode(rows)]

    starts = range(0, len(order), batch_size)
    for start in tqdm(starts, desc="generate", unit="batch", disable=not progress):
        ids = order[start : start + batch_size]
        batch = tokenizer([prompts[i] for i in ids], add_special_tokens=False, return_tensors="pt", padding=True).to(device)
        sampler = Sampler(sampling, [seeds[i] for i in ids], device) if sampling is not None else None
        continuations = generate_tokens(
            model, batch["input_ids"], batch["attention_mask"], max_new_tokens, tokenizer.eos_token_id,
            complete if answer_end else None, sampler,
        )
        for i, text in zip(ids, decode(continuations)):
            end = answer_end(text) if answer_end else None
            outputs[i] = text if end is None else text[:end]
    return outputs


def generate_tokens(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    max_new_tokens: int,
    end_token_id: int | None,
    complete: Callable[[list[list[int]]], list[bool]] | None = None,
    sampler: Sampler | None = None,
) -> list[list[int]]:
    """The tokens each row of a left-padded batch generates, its end token included:
    greedily (the argmax at every step, as `model.generate(do_sample=False)`), or drawn by
    `sampler`.

    A row finishes at the end token, after `max_new_tokens`, or when `complete` (given the
    active rows' tokens so far) says so. A finished row leaves the batch, its cache rows
    with it: the remaining steps compute only the rows still generating, where
    `model.generate` carries every row until the batch's last one ends.
    """
    # Positions count real tokens only, as generate numbers a left-padded row.
    position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    generated: list[list[int]] = [[] for _ in range(len(input_ids))]
    rows = torch.arange(len(input_ids))  # the original row of each row still generating
    step_ids, cache = input_ids, None
    for step in range(max_new_tokens):
        output = model(
            input_ids=step_ids, attention_mask=attention_mask, position_ids=position_ids,
            past_key_values=cache, use_cache=True, logits_to_keep=1,
        )
        cache = output.past_key_values
        logits = output.logits[:, -1]
        next_ids = logits.float().argmax(-1) if sampler is None else sampler(logits, rows.tolist())
        for row, token in zip(rows.tolist(), next_ids.tolist()):
            generated[row].append(token)
        finished = next_ids == end_token_id if end_token_id is not None else torch.zeros_like(next_ids, dtype=torch.bool)
        if complete is not None:
            finished |= torch.tensor(complete([generated[row] for row in rows.tolist()]), device=next_ids.device)
        if step == max_new_tokens - 1 or bool(finished.all()):
            break
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones(len(rows), 1)], dim=-1)
        position_ids = position_ids[:, -1:] + 1
        step_ids = next_ids[:, None]
        if bool(finished.any()):
            keep = (~finished).nonzero().squeeze(-1)
            cache.batch_select_indices(keep)
            rows, attention_mask, position_ids, step_ids = rows[keep.cpu()], attention_mask[keep], position_ids[keep], step_ids[keep]
    return generated


def answer_instructions(
    model, tokenizer, instructions: list, max_new_tokens: int, batch_size: int, chat: bool = False, **kwargs
) -> list[str]:
    """Answers to instructions formatted as in training: `<bos>{instruction}`, or with
    `chat` each instruction a conversation (a list of `{role, content}` turns) rendered by
    the tokenizer's chat template with the generation prompt, the start of the assistant
    turn the model is to write. Greedy, or sampled (`kwargs` of `generate_continuations`)."""
    from lmtune.core.completions import prompt_text

    if chat:
        prompts = [tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True) for turns in instructions]
    else:
        prompts = [prompt_text(tokenizer, instruction) for instruction in instructions]
    return generate_continuations(model, tokenizer, prompts, max_new_tokens, batch_size, **kwargs)
