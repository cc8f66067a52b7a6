"""Studies, not single runs: many branches of one base config, compared.

- `sweeps`: a `sweeps:` section or a TSV sheet of runs -> branches (id + overrides),
  each checked against the config schema; a branch's resolved config.
- `headline`: the few figures each experiment is judged by, read from its metrics files.
- `table`: one row per branch, its settings and headline metrics with deltas.
- `record`: `run.json`, what produced a results folder (config, commit, packages,
  device, per-job time and memory).
- `compare`: two or more results folders side by side (`lmtune compare`).
- `interpolation`: WiSE-FT weight interpolation and the forgetting-learning frontier.
- `plots`: a figure per swept setting; the frontier figure.
"""
