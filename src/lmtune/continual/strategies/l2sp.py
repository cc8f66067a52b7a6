"""L2-SP: loss + weight/2 * sum((theta - theta_start)^2), a pull towards the weights the
phase started from."""

from __future__ import annotations

from lmtune.continual.strategies import Strategy

WEIGHT = {"type": "number", "minimum": 0, "description": "strength of the pull towards the phase's starting weights"}


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


class L2SP(Strategy):
    method = "l2sp"
    settings_schema = {"weight": WEIGHT}
    required = ("weight",)
    first_phase_plain = True

    def penalty(self, model, earlier, settings, seed):
        return WeightAnchor(model, settings["weight"])
