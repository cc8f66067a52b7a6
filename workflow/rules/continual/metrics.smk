# Each run's matrix of losses and its forgetting and transfer; then the summary over
# seeds per strategy, and the figures.


rule collect_metrics:
    input:
        unpack(run_evaluations),
        benchmarks=run_benchmarks,
    output:
        metrics=f"{CONTINUAL}/{{strategy}}/seed{{seed}}/metrics.json",
        matrix=f"{CONTINUAL}/{{strategy}}/seed{{seed}}/loss_matrix.csv",
    log:
        f"{LOGS}/collect_metrics/{{strategy}}/seed{{seed}}.log",
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    params:
        order=config["continual"]["order"],
        # (stage, task) of each of input.benchmarks
        benchmark_keys=run_benchmark_keys(),
    script:
        "../../scripts/collect_metrics.py"


rule summarise_strategies:
    input:
        run_metrics(),
    output:
        summary=f"{CONTINUAL}/summary.json",
        table=report(
            f"{CONTINUAL}/summary.csv",
            caption="../../report/summary.rst",
            category="Continual pre-training",
        ),
    log:
        f"{LOGS}/summarise_strategies.log",
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    params:
        runs=continual_runs(),
    script:
        "../../scripts/summarise_strategies.py"


rule plot_continual:
    input:
        summary=f"{CONTINUAL}/summary.json",
        loss_logs=[path for _, path in run_loss_logs()],
    output:
        loss_matrix=report(
            f"{CONTINUAL}/loss_matrix.png",
            caption="../../report/loss_matrix.rst",
            category="Continual pre-training",
        ),
        scatter=report(
            f"{CONTINUAL}/forgetting_vs_learning.png",
            caption="../../report/forgetting_vs_learning.rst",
            category="Continual pre-training",
        ),
        perplexity=report(
            f"{CONTINUAL}/perplexity.png",
            caption="../../report/perplexity.rst",
            category="Continual pre-training",
        ),
        train_loss=report(
            f"{CONTINUAL}/train_loss.png",
            caption="../../report/train_loss.rst",
            category="Continual pre-training",
        ),
    log:
        f"{LOGS}/plot_continual.log",
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    params:
        loss_log_runs=[run for run, _ in run_loss_logs()],
    script:
        "../../scripts/plot_continual.py"
