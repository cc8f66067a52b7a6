"""Replay: a `fraction` of a later phase's training blocks are drawn from the earlier
domains' training splits (Ibrahim et al. 2024: 1-5% for a weak shift, ~25% for a strong one)."""

from __future__ import annotations

import logging

import numpy as np

from lmtune.continual.strategies import Strategy

log = logging.getLogger(__name__)

FRACTION = {
    "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1,
    "description": "share of a later phase's blocks drawn from earlier domains",
}


def replay_mix(current, earlier: list, fraction: float, seed: int):
    """`current`'s blocks plus blocks drawn from `earlier` datasets, so that `fraction` of
    the result is replay. Draws without replacement while the earlier data lasts."""
    from lmtune.core.tokenstore import concatenate_blocks

    if not earlier or fraction <= 0:
        return current
    pool = concatenate_blocks(earlier)
    wanted = round(len(current) * fraction / (1.0 - fraction))
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(pool), size=wanted, replace=wanted > len(pool))
    log.info("replay: %d blocks of this domain + %d of earlier domains (%.0f%%)", len(current), wanted, 100 * fraction)
    return concatenate_blocks([current, pool.select(sorted(picked.tolist()))])


class Replay(Strategy):
    method = "replay"
    settings_schema = {"fraction": FRACTION}
    required = ("fraction",)
    first_phase_plain = True
    earlier_data = "all"

    def mix(self, data, earlier, settings, seed):
        return replay_mix(data, earlier, settings["fraction"], seed)
