"""lmtune: the library behind the workflow's rules, usable without Snakemake.

Its layers, each importing only from those below it (tests/test_layers.py):
- `lmtune.core`: what every experiment uses: the config schema's machinery (`schema`),
  models and adapters (`models`, `adapters`), token blocks and completions (`blocks`,
  `completions`), training and its resume fingerprint (`training`, `fingerprint`),
  evaluation and generation, files written whole (`atomic`), the OS sandbox (`sandbox`).
- one package per experiment, each a plug-in that declares itself in its `experiment`
  module (`lmtune.core.declaration`): `lmtune.continual` (its strategies are plug-ins too),
  `lmtune.arithmetic`, `lmtune.java`, `lmtune.instruct`;
- what spans them: `lmtune.experiments` (their registry), `lmtune.config` (the checks at
  workflow load), `lmtune.recipe` (every training job, and running one), `lmtune.cross`
  (the cross-experiment matrix);
- `lmtune.study`: many runs of one config, compared;
- `lmtune.pipeline`: the code that knows Snakemake (job start, library-code hashes, SLURM);
- `lmtune.cli`: the `lmtune` command.
"""

__version__ = "0.1.0"
