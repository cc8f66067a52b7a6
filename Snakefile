# lmtune: language-model fine-tuning experiments as a file-tracked pipeline.
#
#   snakemake --cores all                       # default config (minutes on a CPU)
#   snakemake --cores all --configfile config/seed-scale.yaml   # the seeds' scale, GPU box

import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

# Jobs run this checkout's library, not whichever lmtune the environment has installed
# (two clones sharing one environment would run each other's code): src/ goes first on
# the path of this process and, through PYTHONPATH, of every job. Snakemake only appends
# a script's folder to sys.path, after site-packages; each job also checks where its
# lmtune came from (lmtune.pipeline.jobs.check_library).
# A study loads this file once per branch: src/ is on the path once (a path that grew with
# the branches made every later import search all of it).
sys.path[:] = dict.fromkeys([str(Path(workflow.basedir) / "src"), *sys.path])
from lmtune.core.process import tune_garbage_collector
from lmtune.pipeline.jobs import library_first_for_jobs
from lmtune.pipeline.parse_cache import cache_snakemake_parsing

library_first_for_jobs(Path(workflow.basedir) / "src")
# A study parses the rules files once, not once per branch.
cache_snakemake_parsing()
# Snakemake's own process as a job's: planning a large DAG starts and ends faster.
tune_garbage_collector()


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/model.smk"


# Each experiment's paths, input functions and rules (workflow/rules/<experiment>.smk),
# loaded only when it runs: the config has its section, and `experiments`, where set,
# lists it.
for experiment in EXPERIMENTS:

    include: f"workflow/rules/{experiment}.smk"


# With two experiments or more, every final model is evaluated on every held-out set.
if len(CROSS_EXPERIMENTS) > 1:

    include: "workflow/rules/cross.smk"


# The run record of the results folder; with `sweeps:`, every branch of the study (this
# same workflow under each branch's config, in its own folder) and the study table.
include: "workflow/rules/study.smk"


rule all:
    default_target: True
    input:
        all_targets(),
        f"{RESULTS}/{RUN_RECORD}",
        study_targets(),


# A target under an experiment this config does not run stops the plan with an error that
# says so, rather than "No rule to produce": this rule's input function only ever raises.
rule unplanned_target:
    input:
        unplanned_experiment,
    output:
        f"{RESULTS}/{{experiment}}/{{path}}",
    log:
        f"{LOGS}/unplanned_target/{{experiment}}/{{path}}.log",
    wildcard_constraints:
        experiment="|".join(UNPLANNED) or "(?!)",
    localrule: True


# Every rule is defined: from here on a change of the library code a job runs, or of an
# input no rule makes, reruns it.
include: "workflow/rules/identity.smk"
