# lmtune: language-model fine-tuning experiments as a file-tracked pipeline.
#
#   snakemake --cores all                       # default config (minutes on a CPU)
#   snakemake --cores all --configfile config/seed-scale.yaml   # the seeds' scale, GPU box

import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

# The rules import the project's library from src/ even where it is not installed (a
# conda env built from envs/, a cluster node). Scripts find it through the link
# workflow/scripts/lmtune -> src/lmtune, as Snakemake puts a script's folder on sys.path.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/model.smk"


# Each experiment's rules are loaded only when the config has its section.
if "continual" in config:

    include: "workflow/rules/data.smk"
    include: "workflow/rules/train.smk"
    include: "workflow/rules/evaluate.smk"
    include: "workflow/rules/metrics.smk"


if "arithmetic" in config:

    include: "workflow/rules/arithmetic.smk"


if "java" in config:

    include: "workflow/rules/java.smk"


# With two experiments or more, every final model is evaluated on every held-out set.
if len(EXPERIMENTS) > 1:

    include: "workflow/rules/cross.smk"



rule all:
    input:
        all_targets(),
    default_target: True
