# The experiment's metrics file and figures.


rule collect_metrics:
    input:
        stage_evaluations(),
    output:
        f"{CONTINUAL}/metrics.json",
    params:
        order=config["continual"]["order"],
    log:
        "results/logs/collect_metrics.log",
    conda:
        ENV
    script:
        "../scripts/collect_metrics.py"


rule plot_perplexity:
    input:
        f"{CONTINUAL}/metrics.json",
    output:
        report(
            f"{CONTINUAL}/perplexity.png",
            caption="../report/perplexity.rst",
            category="Continual pre-training",
        ),
    log:
        "results/logs/plot_perplexity.log",
    conda:
        ENV
    script:
        "../scripts/plot_perplexity.py"


rule plot_training_loss:
    input:
        phase_loss_logs(),
    output:
        report(
            f"{CONTINUAL}/train_loss.png",
            caption="../report/train_loss.rst",
            category="Continual pre-training",
        ),
    params:
        phases=config["continual"]["order"],
    log:
        "results/logs/plot_training_loss.log",
    conda:
        ENV
    script:
        "../scripts/plot_training_loss.py"
