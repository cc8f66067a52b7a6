"""python -m lmtune.continual.strategies: every strategy, its purpose and its settings."""

from lmtune.continual.strategies import describe

print(describe())
