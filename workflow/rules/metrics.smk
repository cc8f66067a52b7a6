# Each run's matrix of losses and its forgetting and transfer; then the summary over
# seeds per strategy, and the figures.


rule collect_metrics:
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    input:
        unpack(run_evaluations),
    output:
        metrics=f"{CONTINUAL}/{{strategy}}/seed{{seed}}/metrics.json",
        matrix=f"{CONTINUAL}/{{strategy}}/seed{{seed}}/loss_matrix.csv",
    params:
        order=config["continual"]["order"],
    log:
        f"{LOGS}/collect_metrics/{{strategy}}/seed{{seed}}.log",
    conda:
        ENV
    script:
        "../scripts/collect_metrics.py"


rule summarise_strategies:
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    input:
        run_metrics(),
    output:
        summary=f"{CONTINUAL}/summary.json",
        table=report(
            f"{CONTINUAL}/summary.csv",
            caption="../report/summary.rst",
            category="Continual pre-training",
        ),
    params:
        runs=continual_runs(),
    log:
        f"{LOGS}/summarise_strategies.log",
    conda:
        ENV
    script:
        "../scripts/summarise_strategies.py"


rule plot_continual:
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    input:
        summary=f"{CONTINUAL}/summary.json",
        loss_logs=[path for _, path in run_loss_logs()],
    output:
        loss_matrix=report(
            f"{CONTINUAL}/loss_matrix.png",
            caption="../report/loss_matrix.rst",
            category="Continual pre-training",
        ),
        scatter=report(
            f"{CONTINUAL}/forgetting_vs_learning.png",
            caption="../report/forgetting_vs_learning.rst",
            category="Continual pre-training",
        ),
        perplexity=report(
            f"{CONTINUAL}/perplexity.png",
            caption="../report/perplexity.rst",
            category="Continual pre-training",
        ),
        train_loss=report(
            f"{CONTINUAL}/train_loss.png",
            caption="../report/train_loss.rst",
            category="Continual pre-training",
        ),
    params:
        loss_log_runs=[run for run, _ in run_loss_logs()],
    log:
        f"{LOGS}/plot_continual.log",
    conda:
        ENV
    script:
        "../scripts/plot_continual.py"
