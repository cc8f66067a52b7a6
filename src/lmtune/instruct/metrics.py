"""Generated answers against references: exact match and chrF.

chrF (Popović 2015) is sacrebleu's: a character n-gram F-score (n up to 6, beta 2) on a
0-100 scale, which gives partial credit where exact match gives none. The figure of a
set is the corpus-level score (n-gram statistics summed over the set), not a mean of
per-example scores.
"""

from __future__ import annotations


def exact_match(generated: str, reference: str) -> bool:
    """Equal once whitespace at either end is removed (a trailing newline is no error)."""
    return generated.strip() == reference.strip()


def example_scores(generated: str, reference: str) -> dict:
    """{"exact_match": bool, "chrf": sentence-level chrF} of one answer."""
    from sacrebleu.metrics import CHRF

    return {"exact_match": exact_match(generated, reference), "chrf": CHRF().sentence_score(generated, [reference]).score}


def generation_metrics(pairs: list[tuple[str, str]]) -> dict:
    """{"count", "exact_match" (share of pairs, 0-1), "chrf" (0-100)} over
    (generated, reference) pairs; the scores are None when there are no pairs."""
    from sacrebleu.metrics import CHRF

    if not pairs:
        return {"count": 0, "exact_match": None, "chrf": None}
    generated = [g for g, _ in pairs]
    references = [r for _, r in pairs]
    return {
        "count": len(pairs),
        "exact_match": sum(exact_match(g, r) for g, r in pairs) / len(pairs),
        "chrf": CHRF().corpus_score(generated, [references]).score,
    }
