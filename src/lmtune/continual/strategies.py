"""Strategies against forgetting in continual pre-training.

Each phase trains on its own domain; the strategies differ in what else they do:

- sequential: nothing else (the seed's recipe).
- replay:     a `fraction` of the phase's training blocks are drawn from earlier domains'
              training splits (Ibrahim et al. 2024: 1-5% for a weak shift, ~25% for a strong one).
- l2sp:       loss + weight/2 * sum((theta - theta_start)^2), a pull towards the weights the
              phase started from (L2-SP).
- ewc:        the same pull, each weight scaled by its diagonal Fisher information on the
              previous domain (EWC). The Fisher is scaled to mean 1 so `weight` reads on the
              same scale as L2-SP's.
- lora:       only a LoRA adapter trains; it is merged into the weights at the end of the
              phase, and the next phase trains a fresh one.
"""

from __future__ import annotations

import logging

import numpy as np

from lmtune.core.errors import LmtuneError

log = logging.getLogger(__name__)

METHODS = ("sequential", "replay", "l2sp", "ewc", "lora")
# Nothing earlier to replay or hold on to in the first phase: these strategies share the
# plain sequential first phase instead of training the same model again.
SHARE_FIRST_PHASE = ("replay", "l2sp", "ewc")


class StrategyError(LmtuneError):
    pass


def check_strategy(name: str, settings: dict) -> None:
    method = settings.get("method")
    if method not in METHODS:
        raise StrategyError(
            f"continual.strategies.{name}: unknown method {method!r}; known: {', '.join(METHODS)}"
        )
    if name == "sequential" and method != "sequential":
        raise StrategyError(
            "continual.strategies.sequential: the name 'sequential' is kept for the plain "
            f"method (other strategies share its first phase), not {method!r}"
        )


def replay_mix(current, earlier: list, fraction: float, seed: int):
    """`current`'s blocks plus blocks drawn from `earlier` datasets, so that `fraction` of
    the result is replay. Draws without replacement while the earlier data lasts."""
    import datasets

    if not earlier or fraction <= 0:
        return current
    pool = datasets.concatenate_datasets(earlier)
    wanted = round(len(current) * fraction / (1.0 - fraction))
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(pool), size=wanted, replace=wanted > len(pool))
    log.info("replay: %d blocks of this domain + %d of earlier domains (%.0f%%)", len(current), wanted, 100 * fraction)
    return datasets.concatenate_datasets([current, pool.select(sorted(picked.tolist()))])


class WeightAnchor:
    """weight/2 * sum(importance * (theta - theta_start)^2) over the trainable weights,
    added to the training loss: L2-SP without `importance`, EWC with the Fisher."""

    def __init__(self, model, weight: float, importance: dict | None = None):
        self.weight = weight
        self.start = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
        self.importance = importance

    def __call__(self, model):
        total = 0.0
        for name, param in model.named_parameters():
            if name not in self.start:
                continue
            squared = (param - self.start[name]).pow(2)
            if self.importance is not None:
                squared = squared * self.importance[name]
            total = total + squared.sum()
        return 0.5 * self.weight * total


def diagonal_fisher(model, blocks, samples: int, seed: int) -> dict:
    """Mean squared gradient of the LM loss, one block at a time, over `samples` blocks of
    the previous domain, scaled to mean 1 over all trainable weights."""
    import torch

    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(blocks), size=min(samples, len(blocks)), replace=False)
    device = next(model.parameters()).device
    fisher = {n: torch.zeros_like(p) for n, p in model.named_parameters() if p.requires_grad}
    was_training = model.training
    model.eval()  # no dropout: the Fisher of the model as it is
    for index in sorted(chosen.tolist()):
        row = blocks[index]
        batch = {key: torch.tensor([row[key]], device=device) for key in ("input_ids", "attention_mask", "labels")}
        model.zero_grad(set_to_none=True)
        model(**batch).loss.backward()
        for name, param in model.named_parameters():
            if param.grad is not None and name in fisher:
                fisher[name] += param.grad.detach().pow(2)
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    total = sum(f.sum() for f in fisher.values())
    count = sum(f.numel() for f in fisher.values())
    mean = float(total) / count
    if not mean > 0:
        raise StrategyError("ewc: the Fisher information is zero everywhere; the previous domain's blocks gave no gradient")
    log.info("ewc: diagonal Fisher from %d blocks, mean %.3e before scaling", len(chosen), mean)
    return {name: f / mean for name, f in fisher.items()}
