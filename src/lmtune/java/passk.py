"""pass@k from n judged samples per task, as HumanEval, MultiPL-E and EvalPlus report it:
the unbiased estimator 1 - C(n-c, k) / C(n, k) of each task (c of its n samples
functional), averaged over the tasks of a split, for each k <= n."""

from __future__ import annotations

import math

import numpy as np

from lmtune.java.tasks import reason_counts


def pass_at_k(n: int, c: int, k: int) -> float:
    """The chance that at least one of k samples drawn without replacement from n, c of
    them correct, is correct: 1 - C(n-c, k) / C(n, k), as a product (Chen et al. 2021), so
    that no binomial coefficient of a large n overflows a float."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def task_samples(records: list[dict]) -> list[tuple[int, int | None]]:
    """(n, c) of each task, in order of first appearance; a task is an instruction, its
    samples the records that share it. c is None where the level was not measured."""
    tasks: dict[str, list[bool | None]] = {}
    for record in records:
        tasks.setdefault(record["instruction"], []).append(record["functional"])
    return [(len(verdicts), None if None in verdicts else sum(verdicts)) for verdicts in tasks.values()]


def pass_at_k_figures(records: list[dict], ks: list[int]) -> dict:
    """Per test split: the tasks, the samples per task, pass@k for each k, pass@1's
    standard error over the tasks (the spread of each task's c/n; None for one task),
    and the reason counts over all samples. pass@k is None where the functional level was
    not measured (no JDK or sandbox), never a pass or a zero."""
    figures = {}
    for split in sorted({r["split"] for r in records}):
        rows = [r for r in records if r["split"] == split]
        tasks = task_samples(rows)
        sizes = sorted({n for n, _ in tasks})
        measured = all(c is not None for _, c in tasks)
        per_task = [c / n for n, c in tasks] if measured else []
        figures[split] = {
            "tasks": len(tasks),
            "samples_per_task": sizes[0] if len(sizes) == 1 else sizes,
            "pass_at_k": {
                f"pass@{k}": float(np.mean([pass_at_k(n, c, k) for n, c in tasks])) if measured else None for k in ks
            },
            "pass@1_standard_error": (
                float(np.std(per_task, ddof=1) / math.sqrt(len(per_task))) if len(per_task) > 1 else None
            ),
            "reasons": reason_counts(rows),
        }
    return figures
