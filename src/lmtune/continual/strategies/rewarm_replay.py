"""Re-warming and re-decay with replay: every phase warms the learning rate up again over
a `warmup` share of its steps and decays it along a cosine to `min_lr_ratio` of its peak;
a later phase also replays a `fraction` of its blocks from earlier domains (Ibrahim et
al. 2024, "Simple and Scalable Strategies to Continually Pre-train Large Language Models").

The paper replays about 5% for a weak shift, 25% or more for a strong one. The first
phase has nothing to replay but still follows the schedule, so it is not the sequential
one.
"""

from __future__ import annotations

from lmtune.continual.strategies import Strategy
from lmtune.continual.strategies.replay import FRACTION, replay_mix


class RewarmReplay(Strategy):
    method = "rewarm_replay"
    settings_schema = {
        "fraction": FRACTION,
        "warmup": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "description": "share of each phase's steps the learning rate warms up over"},
        "min_lr_ratio": {"type": "number", "minimum": 0, "maximum": 1, "description": "where the cosine decay ends, as a share of the peak learning rate"},
    }
    required = ("fraction", "warmup", "min_lr_ratio")
    earlier_data = "all"

    def training(self, settings, first_phase):
        return {
            "warmup_steps": settings["warmup"],
            "lr_scheduler": "cosine_with_min_lr",
            "lr_scheduler_kwargs": {"min_lr_rate": settings["min_lr_ratio"]},
        }

    def mix(self, data, earlier, settings, seed):
        return replay_mix(data, earlier, settings["fraction"], seed)
