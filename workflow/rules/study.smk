# Studies: the run record of a results folder, and with `sweeps:` the branches of this
# config and the study table.
#
# A branch is this same workflow loaded as a Snakemake module under the branch's config
# (the base's with the branch's settings), whose `results` is <results>/study/<branch>/:
# one DAG plans the base and every branch, the base's own folder is the base branch (never
# recomputed), and adding a value adds one folder of jobs. The materialised base models
# (resources/) stay the base workflow's, shared by every branch.

if TOP_LEVEL:
    # Every training job tracks to the top-level results folder, branches included.
    tracking_for_jobs(config["tracking"], RESULTS)


BRANCH_CONFIGS = study_branches()
BRANCHES = [branch for branch, _ in BRANCH_CONFIGS]
BRANCH_EXPERIMENTS = {BASE_ID: EXPERIMENTS} if BRANCHES else {}
for branch, own_config in BRANCH_CONFIGS[1:]:
    BRANCH_EXPERIMENTS[branch.id] = load_branch(branch, own_config)
SWEPT = list(dict.fromkeys(path for branch in BRANCHES for path in branch.overrides))


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
            table=report(f"{RESULTS}/study.csv", caption="../report/study.rst", category="Study"),
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
            branches=[{"id": branch.id, "overrides": branch.overrides} for branch in BRANCHES],
            folders={branch.id: branch_results(branch.id) for branch in BRANCHES},
            base=overlay({setting: setting_value(config, setting) for setting in SWEPT}),
            settings=SWEPT,
        script:
            "../scripts/study_table.py"
