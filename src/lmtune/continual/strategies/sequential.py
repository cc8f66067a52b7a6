"""Sequential: each phase trains on its own domain and nothing else (the seed's method)."""

from __future__ import annotations

from lmtune.continual.strategies import Strategy


class Sequential(Strategy):
    method = "sequential"
