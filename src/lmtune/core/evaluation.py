"""Loss and perplexity of a causal LM over a tokenized split.

The loss is the total negative log-likelihood of every predicted token divided by the
number of those tokens, not a mean of per-batch means (which is wrong whenever batches
hold different token counts). Pad positions carry label -100 and never count.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from lmtune.core.blocks import IGNORE_INDEX


@dataclass(frozen=True)
class EvalResult:
    eval_loss: float
    eval_perplexity: float
    eval_tokens: int

    def to_dict(self) -> dict:
        return asdict(self)


def batch_nll(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Summed NLL and count of the tokens predicted in one batch (position t predicts t+1)."""
    logits = logits[:, :-1].float()
    targets = labels[:, 1:]
    nll = F.cross_entropy(
        logits.reshape(-1, logits.size(-1)),
        targets.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="sum",
    )
    return nll, int((targets != IGNORE_INDEX).sum())


@torch.no_grad()
def evaluate_lm(model, dataset, batch_size: int, progress: bool = True, collate=None) -> EvalResult:
    """`dataset` holds input_ids, attention_mask and labels: torch tensors of one length,
    or rows of any length with a `collate` that pads a list of them (labels with -100)."""
    model.eval()
    device = next(model.parameters()).device
    total_nll, total_tokens = 0.0, 0
    starts = range(0, len(dataset), batch_size)
    for start in tqdm(starts, desc="evaluate", unit="batch", disable=not progress):
        end = min(start + batch_size, len(dataset))
        batch = collate([dataset[i] for i in range(start, end)]) if collate else dataset[start:end]
        logits = model(
            input_ids=batch["input_ids"].to(device),
            attention_mask=batch["attention_mask"].to(device),
        ).logits
        nll, count = batch_nll(logits, batch["labels"].to(device))
        total_nll += float(nll)  # accumulate in Python float64
        total_tokens += count
    if total_tokens == 0:
        raise ValueError("the evaluation split has no predicted tokens")
    loss = total_nll / total_tokens
    if not math.isfinite(loss):
        raise ValueError(f"evaluation loss is not finite ({loss}): the model weights are broken")
    return EvalResult(eval_loss=loss, eval_perplexity=math.exp(loss), eval_tokens=total_tokens)
