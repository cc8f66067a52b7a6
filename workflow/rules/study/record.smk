# The run record of the results folder and, for a study, the table of its branches.


rule record_run:
    input:
        final_outputs(),
    output:
        record=f"{RESULTS}/{RUN_RECORD}",
        times=report(
            f"{RESULTS}/rule_times.csv",
            caption="../../report/rule_times.rst",
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
        metrics_files={name: os.path.relpath(path, RESULTS) for name, path in headline_files(config).items()},
    script:
        "../../scripts/record_run.py"


if BRANCHES:

    rule study_table:
        input:
            unpack(study_inputs),
        output:
            table=report(f"{RESULTS}/study.csv", caption="../../report/study.rst", category="Study"),
            markdown=f"{RESULTS}/study.md",
            plots=[
                report(
                    study_plot(setting),
                    caption="../../report/study_setting.rst",
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
            metrics_files=BRANCH_HEADLINE_FILES,
            base=overlay({setting: setting_value(config, setting) for setting in SWEPT}),
            settings=SWEPT,
        script:
            "../../scripts/study_table.py"
