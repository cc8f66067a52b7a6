# Studies: the run record of a results folder, and with `sweeps:` the branches of this
# config and the study table.
#
# A branch is this same workflow loaded as a Snakemake module under the branch's config
# (the base's with the branch's settings), whose `results` is <results>/study/<branch>/:
# one DAG plans the base and every branch, the base's own folder is the base branch (never
# recomputed), and adding a value adds one folder of jobs. The materialised base models
# (resources/) stay the base workflow's, shared by every branch.

import hashlib

from snakemake.logging import logger

from lmtune.experiments import registry as experiment_registry
from lmtune.study.record import RUN_RECORD
from lmtune.pipeline.continual import register_branch
from lmtune.study.sweeps import (
    BASE_ID,
    NOT_RUN_SETTINGS,
    SweepError,
    distinct_branches,
    expand_sweep,
    new_parts,
    overlay,
    read_sweep_sheet,
    resolved_config,
    setting_value,
)
from lmtune.core.schema import ConfigError
from lmtune.core.tracking import tracking_for_jobs

# What a run is: its config less the study around it and where its curves go (neither
# changes a result, so neither reruns anything; lmtune.study.sweeps.NOT_RUN_SETTINGS).
RUN_SETTINGS = {key: value for key, value in config.items() if key not in NOT_RUN_SETTINGS}
# The branch rules' names: branch_<hash of the branch id>_<rule>.
BRANCH_MODULE = "branch_"
STUDY = f"{RESULTS}/study"


def final_outputs():
    """Everything the run record follows: the experiments' final outputs."""
    return all_targets()


def branch_results(branch_id):
    return RESULTS if branch_id == BASE_ID else f"{STUDY}/{branch_id}"


def study_branches():
    """The study's branches whose runs differ, the base first, each with its config;
    none without `sweeps:`. A branch that runs what another runs is said once in the
    log and reported as that one's row."""
    sweep = config.get("sweeps")
    if not sweep:
        return []
    base = {key: value for key, value in config.items() if key != "sweeps"}
    if "sheet" in sweep:
        branches = read_sweep_sheet(sweep["sheet"], base, CONFIG_SCHEMA)
    else:
        branches = expand_sweep(sweep, base, CONFIG_SCHEMA)
    for branch in branches:
        for path in branch.overrides:
            if path.split(".")[0] in NOT_RUN_SETTINGS:
                raise SweepError(f"sweeps: {path} is not a setting of a run and cannot be swept")
    configs = {BASE_ID: config, **{branch.id: branch_config(base, branch) for branch in branches[1:]}}
    distinct = distinct_branches(branches, configs)
    for branch in distinct:
        for repeat in branch.repeats:
            logger.info(
                f"sweeps: {repeat} runs exactly what {branch.id} runs (the same settings for the experiments "
                f"that run): not planned again, reported as {branch.id}'s row of study.csv"
            )
    return [(branch, configs[branch.id]) for branch in distinct]


def branch_config(base, branch):
    """The branch's whole config in its own folder, with the defaults the base has (a
    branch that sets a whole section gets them too)."""
    resolved = resolved_config(base, branch, CONFIG_SCHEMA)
    resolved["results"] = branch_results(branch.id)
    fill_defaults(resolved, CONFIG_SCHEMA, changed=new_parts(base, branch.overrides))
    return resolved


def load_branch(branch, branch_config):
    """The workflow under the branch's config, as rules named after it; the base model
    preparation stays the top level's."""
    try:
        check_config(branch_config)
    except ConfigError as exc:
        raise SweepError(f"sweeps: branch {branch.id}: {exc}") from None
    # The branch's continual jobs compare themselves with the base run's.
    register_branch(branch_config["results"], CONTINUAL_JOBS if "continual" in EXPERIMENTS else None)
    name = BRANCH_MODULE + hashlib.sha256(branch.id.encode()).hexdigest()[:10]
    workflow.module(
        name,
        snakefile=workflow.main_snakefile,
        config=branch_config,
        skip_validation=True,
    )
    workflow.userule(
        rules=["*"],
        from_module=name,
        exclude_rules=["all", "prepare_base_model", "unplanned_target"],
        name_modifier=f"{name}_*",
    )(None)
    return experiments(branch_config)


def study_plot(setting):
    return f"{RESULTS}/study_plots/{setting}.png"


def study_targets():
    if not BRANCHES:
        return []
    return [f"{RESULTS}/study.csv", f"{RESULTS}/study.md", *map(study_plot, SWEPT)]


def study_inputs(wildcards):
    """Each branch's run record (its whole run done) and headline metrics files."""
    return {
        "records": [f"{branch_results(branch_id)}/{RUN_RECORD}" for branch_id in BRANCH_EXPERIMENTS],
        "metrics": [
            f"{branch_results(branch_id)}/{experiment_registry()[name].metrics_file}"
            for branch_id, names in BRANCH_EXPERIMENTS.items()
            for name in names
        ],
    }


if TOP_LEVEL:
    # Every training job tracks to the top-level results folder, branches included.
    tracking_for_jobs(config["tracking"], RESULTS)


BRANCH_CONFIGS = study_branches()
BRANCHES = [branch for branch, _ in BRANCH_CONFIGS]
BRANCH_EXPERIMENTS = {BASE_ID: EXPERIMENTS} if BRANCHES else {}
for branch, own_config in BRANCH_CONFIGS[1:]:
    BRANCH_EXPERIMENTS[branch.id] = load_branch(branch, own_config)
SWEPT = list(dict.fromkeys(path for branch in BRANCHES for path in branch.overrides))


include: "study/record.smk"
