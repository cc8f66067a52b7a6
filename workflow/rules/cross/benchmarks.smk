# Each final model of the matrix on each benchmark task (lm-evaluation-harness), a pair the
# continual experiment already benchmarks read from its file; and the table of them.


rule cross_benchmark:
    input:
        unpack(cross_benchmark_inputs),
    output:
        f"{CROSS}/benchmarks/{{model_id}}/{{task}}.json",
    log:
        f"{LOGS}/cross_benchmark/{{model_id}}/{{task}}.log",
    benchmark:
        f"{BENCHMARKS}/cross_benchmark/{{model_id}}/{{task}}.tsv"
    wildcard_constraints:
        task="|".join(map(re.escape, BENCHMARK_TASKS)) or "(?!)",
    conda:
        ENV
    threads: job_threads("evaluation")
    resources:
        **job_resources("evaluation"),
    params:
        # The job's identity in a study too.
        **{
            name: lambda wildcards, name=name: cross_benchmark_settings(wildcards.model_id, wildcards.task)[name]
            for name in ("task", "quantize_4bit", "batch_size", "compute")
        },
    script:
        "../../scripts/evaluate_benchmark.py"


rule cross_benchmark_table:
    input:
        [cross_benchmark_file(model_id, task) for model_id in CROSS_MODELS for task in BENCHMARK_TASKS],
    output:
        report(f"{CROSS}/benchmarks.csv", caption="../../report/cross_benchmarks.rst", category="Across experiments"),
    log:
        f"{LOGS}/cross_benchmark_table.log",
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    params:
        # (model, task) of each input, and each model's base model
        pairs=[(model_id, task) for model_id in CROSS_MODELS for task in BENCHMARK_TASKS],
        base_of={model_id: spec["base"] for model_id, spec in CROSS_MODELS.items()},
    script:
        "../../scripts/cross_benchmark_table.py"
