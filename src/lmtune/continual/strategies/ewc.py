"""EWC: the L2-SP pull, each weight scaled by its diagonal Fisher information on the
previous domain. The Fisher is scaled to mean 1 so `weight` reads on the same scale as
L2-SP's."""

from __future__ import annotations

import logging

import numpy as np

from lmtune.continual.strategies import Strategy, StrategyError
from lmtune.continual.strategies.l2sp import WEIGHT, WeightAnchor

log = logging.getLogger(__name__)


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


class EWC(Strategy):
    method = "ewc"
    settings_schema = {
        "weight": WEIGHT,
        "fisher_samples": {"type": "integer", "minimum": 1, "description": "blocks of the previous domain the diagonal Fisher is estimated on"},
    }
    required = ("weight", "fisher_samples")
    first_phase_plain = True
    earlier_data = "last"

    def penalty(self, model, earlier, settings, seed):
        if not earlier:
            return None
        fisher = diagonal_fisher(model, earlier[-1], settings["fisher_samples"], seed)
        return WeightAnchor(model, settings["weight"], importance=fisher)
