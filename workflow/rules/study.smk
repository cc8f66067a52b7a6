# Studies: the run record of a results folder, and with `sweeps:` the branches of this
# config and the study table.
#
# A branch is this same workflow loaded as a Snakemake module under the branch's config
# (the base's with the branch's settings), whose `results` is <results>/study/<branch>/:
# one DAG plans the base and every branch, the base's own folder is the base branch (never
# recomputed), and adding a value adds one folder of jobs. The materialised base models
# (resources/) stay the base workflow's, shared by every branch.

import hashlib

from lmtune.study.record import RUN_RECORD
from lmtune.study.headline import HEADLINES
from lmtune.study.sweeps import (
    BASE_ID,
    SweepError,
    expand_sweep,
    overlay,
    read_sweep_sheet,
    resolved_config,
    setting_value,
)
from lmtune.study.tracking import tracking_for_jobs

# What a run is: its config less the study around it and where its curves go (neither
# changes a result, so neither reruns anything).
NOT_RUN_SETTINGS = ("sweeps", "tracking", "results")
RUN_SETTINGS = {
    key: value for key, value in config.items() if key not in NOT_RUN_SETTINGS
}
# A branch is loaded as a module named after it; the top level has no namespace.
TOP_LEVEL = workflow.modifier.namespace is None
# The branch rules' names: branch_<hash of the branch id>_<rule>.
BRANCH_MODULE = "branch_"
STUDY = f"{RESULTS}/study"


if TOP_LEVEL:
    # Every training job tracks to the top-level results folder, branches included.
    tracking_for_jobs(config["tracking"], RESULTS)


def final_outputs():
    """Everything the run record follows: the experiments' final outputs."""
    return all_targets()


def branch_results(branch_id):
    return RESULTS if branch_id == BASE_ID else f"{STUDY}/{branch_id}"


def study_branches():
    """The study's branches, the base first; none without `sweeps:`."""
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
                raise SweepError(
                    f"sweeps: {path} is not a setting of a run and cannot be swept"
                )
    return branches


def load_branch(branch):
    """The workflow under the branch's config, as rules named after it; the base model
    preparation stays the top level's."""
    branch_config = resolved_config(
        {key: value for key, value in config.items() if key != "sweeps"},
        branch,
        CONFIG_SCHEMA,
    )
    branch_config["results"] = branch_results(branch.id)
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


BRANCHES = study_branches()
BRANCH_EXPERIMENTS = {BASE_ID: EXPERIMENTS} if BRANCHES else {}
for branch in BRANCHES[1:]:
    BRANCH_EXPERIMENTS[branch.id] = load_branch(branch)
SWEPT = list(dict.fromkeys(path for branch in BRANCHES for path in branch.overrides))


def study_plot(setting):
    return f"{RESULTS}/study_plots/{setting}.png"


def study_targets():
    if not BRANCHES:
        return []
    return [f"{RESULTS}/study.csv", f"{RESULTS}/study.md", *map(study_plot, SWEPT)]


def study_inputs(wildcards):
    """Each branch's run record (its whole run done) and headline metrics files."""
    return {
        "records": [
            f"{branch_results(branch_id)}/{RUN_RECORD}"
            for branch_id in BRANCH_EXPERIMENTS
        ],
        "metrics": [
            f"{branch_results(branch_id)}/{HEADLINES[name][0]}"
            for branch_id, names in BRANCH_EXPERIMENTS.items()
            for name in names
        ],
    }


rule record_run:
    input:
        final_outputs(),
    output:
        record=f"{RESULTS}/{RUN_RECORD}",
        times=report(
            f"{RESULTS}/rule_times.csv",
            caption="../report/rule_times.rst",
            category="Run record",
        ),
    log:
        f"{LOGS}/record_run.log",
    localrule: True
    conda:
        ENV
    params:
        config=RUN_SETTINGS,
        repo=workflow.basedir,
    script:
        "../scripts/record_run.py"


if BRANCHES:

    rule study_table:
        input:
            unpack(study_inputs),
        output:
            table=report(
                f"{RESULTS}/study.csv", caption="../report/study.rst", category="Study"
            ),
            markdown=f"{RESULTS}/study.md",
            plots=[
                report(
                    study_plot(setting),
                    caption="../report/study_setting.rst",
                    category="Study",
                    labels={"setting": setting},
                )
                for setting in SWEPT
            ],
        log:
            f"{LOGS}/study_table.log",
        localrule: True
        conda:
            ENV
        params:
            branches=[
                {"id": branch.id, "overrides": branch.overrides} for branch in BRANCHES
            ],
            folders={branch.id: branch_results(branch.id) for branch in BRANCHES},
            base=overlay({setting: setting_value(config, setting) for setting in SWEPT}),
            settings=SWEPT,
        script:
            "../scripts/study_table.py"
