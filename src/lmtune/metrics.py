"""Assemble per-stage evaluations into the continual-learning metrics.

R[i][j] is the loss on domain j's test split after stage i, where stage 0 is the base
model and stage i (i >= 1) is the model after training on the i-th domain of the order.
Losses are lower-is-better, so the signs are flipped from accuracy-based libraries:

- forgetting_j = R[last][j] - R[j][j]            (positive: the model forgot j)
- learning_j   = R[j-1][j] - R[j][j]             (positive: training on j helped j)
- backward_transfer = mean over j < last of (R[j][j] - R[last][j])   (negative: forgetting)
- forward_transfer_j = R[0][j] - R[j-1][j]       (positive: earlier phases helped j)
"""

from __future__ import annotations

import math
from statistics import fmean


def stage_names(order: list[str]) -> list[str]:
    return ["base"] + [f"after_{domain}" for domain in order]


def loss_matrix(evals: dict[str, dict], order: list[str]) -> list[list[float]]:
    """`evals` maps "<stage>_<domain>" to an evaluation record with `eval_loss`."""
    return [[evals[f"{stage}_{domain}"]["eval_loss"] for domain in order] for stage in stage_names(order)]


def continual_metrics(evals: dict[str, dict], order: list[str]) -> dict:
    R = loss_matrix(evals, order)
    last = len(order)
    per_domain = {}
    for j, domain in enumerate(order, start=1):
        col = j - 1
        per_domain[domain] = {
            "forgetting": R[last][col] - R[j][col],
            "learning": R[j - 1][col] - R[j][col],
            "forward_transfer": R[0][col] - R[j - 1][col],
            "final_loss": R[last][col],
            "final_perplexity": math.exp(R[last][col]),
        }
    earlier = range(1, last)
    summary = {
        "backward_transfer": fmean(R[j][j - 1] - R[last][j - 1] for j in earlier) if last > 1 else 0.0,
        "final_average_loss": fmean(R[last]),
    }
    return {
        "order": list(order),
        "stages": stage_names(order),
        "loss_matrix": R,
        "domains": per_domain,
        "summary": summary,
    }


def metrics_report(evals: dict[str, dict], order: list[str]) -> dict:
    """The metrics file: the seed's flat keys (base_A, after_A_B, ...) plus the analysis.

    For two domains A then B this includes forgetting on A (after_B_A - after_A_A, in
    loss) and the gain on B (after_A_B - after_B_B).
    """
    analysis = continual_metrics(evals, order)
    report = {key: dict(evals[key]) for key in sorted(evals)}
    report["continual"] = analysis
    first, last = order[0], order[-1]
    report[f"forgetting_{first}"] = analysis["domains"][first]["forgetting"]
    report[f"gain_{last}"] = analysis["domains"][last]["learning"]
    return report
