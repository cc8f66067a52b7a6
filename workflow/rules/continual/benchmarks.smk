# Benchmark tasks (benchmarks.tasks) through lm-evaluation-harness on every model the
# continual experiment evaluates: the base model, each run's phases, the interpolated
# models. One job per model and task, so adding a task runs only that task's jobs.


rule benchmark_continual_model:
    input:
        model=continual_model,
        # The task's YAML, what it includes and its data files (none for a task lm-eval
        # ships): their content is part of the job's identity (identity.smk).
        task_files=lambda wildcards: BENCHMARK_TASKS[wildcards.task].files(),
    output:
        f"{CONTINUAL}/{{model_dir}}/benchmarks/{{task}}.json",
    log:
        f"{LOGS}/benchmark_continual_model/{{model_dir}}/{{task}}.log",
    benchmark:
        f"{BENCHMARKS}/benchmark_continual_model/{{model_dir}}/{{task}}.tsv"
    wildcard_constraints:
        task="|".join(map(re.escape, BENCHMARK_TASKS)) or "(?!)",
    conda:
        ENV
    threads: job_threads("evaluation")
    resources:
        **job_resources("evaluation"),
    params:
        task=lambda wildcards: BENCHMARK_TASKS[wildcards.task].to_dict(),
        batch_size=config["benchmarks"]["batch_size"],
        compute=COMPUTE,
    script:
        "../../scripts/evaluate_benchmark.py"


rule plot_benchmarks:
    input:
        summary=f"{CONTINUAL}/summary.json",
    output:
        report(
            f"{CONTINUAL}/benchmarks.png",
            caption="../../report/benchmarks.rst",
            category="Continual pre-training",
        ),
    log:
        f"{LOGS}/plot_benchmarks.log",
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    script:
        "../../scripts/plot_benchmarks.py"
