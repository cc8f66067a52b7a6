# Each final model on each held-out set it is not already evaluated on, and the matrix.


rule cross_evaluate:
    input:
        unpack(cross_inputs),
    output:
        f"{CROSS}/{{model_id}}.json",
    log:
        f"{LOGS}/cross_evaluate/{{model_id}}.log",
    benchmark:
        f"{BENCHMARKS}/cross_evaluate/{{model_id}}.tsv"
    conda:
        ENV
    threads: job_threads("evaluation")
    resources:
        **job_resources("evaluation"),
    params:
        # Each set with its experiment's evaluation batch size; the job's identity in a study.
        **{
            name: lambda wildcards, name=name: cross_evaluation_settings(wildcards.model_id)[name]
            for name in ("sets", "quantize_4bit", "compute")
        },
    script:
        "../../scripts/cross_evaluate.py"


rule cross_matrix:
    input:
        unpack(cross_matrix_inputs),
    output:
        table=f"{CROSS}/matrix.csv",
        plot=report(f"{CROSS}/matrix.png", caption="../../report/cross_matrix.rst", category="Across experiments"),
    log:
        f"{LOGS}/cross_matrix.log",
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    params:
        models=CROSS_MODELS,
        computed=cross_computed_models(),
        sets=list(CROSS_SETS),
    script:
        "../../scripts/cross_matrix.py"
