"""Weight interpolation (WiSE-FT, model soups) and the forgetting-learning frontier.

θ(α) = (1 − α)·θ_start + α·θ_end, between two folders of the same architecture: the
model after phase A and after phase B (α = 0 is A's model, 1 is B's), or the base model
and the model after B. Evaluating θ(α) on every domain gives, per α, how much of A is
forgotten and how much of B is learned, with no training: a curve to put beside each
strategy's point (Wortsman et al. 2022, "Robust fine-tuning of zero-shot models").

Forgetting and learning are measured as `lmtune.continual.metrics` measures a strategy,
against the same run's loss matrix, so every point lies on one figure: forgetting = mean
over earlier domains j of (loss_j(α) − R[j][j]); learning = R[last−1][last] − loss_last(α).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from statistics import fmean
from typing import TYPE_CHECKING

from lmtune.core import atomic
from lmtune.core.errors import ModelError

if TYPE_CHECKING:
    import torch

WEIGHTS_INDEX = "model.safetensors.index.json"


def read_weights(folder: str | Path) -> dict[str, "torch.Tensor"]:
    """Every tensor of a model folder's safetensors files (one file or shards)."""
    from safetensors.torch import load_file

    files = sorted(Path(folder).glob("*.safetensors"))
    if not files:
        raise ModelError(f"{folder} holds no .safetensors weights")
    weights = {}
    for file in files:
        weights.update(load_file(file))
    return weights


def interpolate_weights(start: dict, end: dict, alpha: float) -> dict:
    """(1 − α)·start + α·end, tensor by tensor, computed in float32 and stored in each
    tensor's own dtype; integer buffers must agree and are kept. α = 0 gives `start`
    exactly, α = 1 `end` exactly."""
    import torch

    if start.keys() != end.keys():
        only = sorted(start.keys() ^ end.keys())
        raise ModelError(f"the two models have different weights (not the same architecture): {', '.join(only[:5])}")
    mixed = {}
    for name, a in start.items():
        b = end[name]
        if a.shape != b.shape:
            raise ModelError(f"weight {name} has shape {tuple(a.shape)} in one model and {tuple(b.shape)} in the other")
        if not a.is_floating_point():
            if not torch.equal(a, b):
                raise ModelError(f"integer buffer {name} differs between the two models; it cannot be interpolated")
            mixed[name] = a.clone()
            continue
        mixed[name] = ((1.0 - alpha) * a.float() + alpha * b.float()).to(a.dtype)
    return mixed


def write_interpolated_model(start: str | Path, end: str | Path, alpha: float, out: str | Path) -> Path:
    """Write θ(α) of two model folders as a model folder at `out`: the start's config and
    tokenizer files, one `model.safetensors`, and `interpolation.json` saying what it is."""
    from safetensors.torch import save_file

    start, end = Path(start), Path(end)
    if not 0.0 <= alpha <= 1.0:
        raise ModelError(f"interpolation alpha must lie in [0, 1], got {alpha}")
    for folder in (start, end):
        if not (folder / "config.json").exists():
            raise ModelError(f"{folder} is not a model folder (no config.json)")
    types = [json.loads((folder / "config.json").read_text()).get("model_type") for folder in (start, end)]
    if types[0] != types[1]:
        raise ModelError(f"cannot interpolate a {types[0]} model with a {types[1]} model")
    weights = interpolate_weights(read_weights(start), read_weights(end), alpha)
    with atomic.directory(out) as folder:
        for item in start.iterdir():
            if item.is_file() and item.suffix != ".safetensors" and item.name != WEIGHTS_INDEX:
                shutil.copy2(item, folder / item.name)
        save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
        (folder / "interpolation.json").write_text(
            json.dumps({"start": str(start), "end": str(end), "alpha": alpha}, indent=2) + "\n"
        )
    return Path(out)


def frontier_points(evaluations: dict[float, dict[str, dict]], loss_matrix: list[list[float]], order: list[str]) -> list[dict]:
    """One point per α, in increasing α: `alpha`, `forgetting` (of the earlier domains,
    mean), `learning` (of the last), each domain's `losses`, and `on_front`: no other
    point forgets less (or as little) and learns more (or as much), one of them strictly.

    `evaluations` maps α -> domain -> evaluation record (`eval_loss`); `loss_matrix` is
    the run's R (row 0 the base model, row j after the j-th domain of `order`)."""
    last = len(order)
    points = []
    for alpha in sorted(evaluations):
        losses = {domain: evaluations[alpha][domain]["eval_loss"] for domain in order}
        points.append({
            "alpha": alpha,
            "forgetting": fmean(losses[d] - loss_matrix[j][j - 1] for j, d in enumerate(order[:-1], start=1)),
            "learning": loss_matrix[last - 1][last - 1] - losses[order[-1]],
            "losses": losses,
        })
    for point in points:
        point["on_front"] = not any(
            other["forgetting"] <= point["forgetting"] and other["learning"] >= point["learning"]
            and (other["forgetting"], other["learning"]) != (point["forgetting"], point["learning"])
            for other in points
        )
    return points


def strategy_points(summary: dict) -> dict[str, dict[str, float]]:
    """strategy -> its (forgetting, learning) point, means over seeds, from the continual
    summary: the same measures as `frontier_points`."""
    order = summary["order"]
    points = {}
    for strategy, figures in summary["strategies"].items():
        measures = figures["measures"]
        points[strategy] = {
            "forgetting": fmean(measures[f"forgetting_{d}"]["mean"] for d in order[:-1]),
            "learning": measures[f"learning_{order[-1]}"]["mean"],
        }
    return points
