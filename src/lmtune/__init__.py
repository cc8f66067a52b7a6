"""lmtune: the library behind the workflow's rules, usable without Snakemake.

Each module does one job: `corpus` reads and splits text, `blocks` tokenizes it into
causal-LM blocks, `models` loads and materialises models, `training` runs a phase,
`evaluation` measures loss and perplexity, `metrics` assembles the results, `plots`
draws them, `atomic` writes files so a crash never leaves a half-written one.
"""

__version__ = "0.1.0"
