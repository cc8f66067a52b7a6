# Continual pre-training: one phase per domain of `continual.order`, each starting from
# the previous phase's final model (phase 1 from the base model), for every strategy and
# seed. A strategy whose phase trains as the sequential one shares it (phase_dir).


rule train_phase:
    input:
        unpack(phase_inputs),
    output:
        model=directory(f"{CONTINUAL}/{{strategy}}/seed{{seed}}/{{phase}}/model"),
        loss_log=f"{CONTINUAL}/{{strategy}}/seed{{seed}}/{{phase}}/train_loss.csv",
    log:
        f"{LOGS}/train_phase/{{strategy}}/seed{{seed}}/{{phase}}.log",
    benchmark:
        f"{BENCHMARKS}/train_phase/{{strategy}}/seed{{seed}}/{{phase}}.tsv"
    conda:
        ENV
    threads: job_threads("training")
    resources:
        **job_resources("training"),
    params:
        spec=phase_spec,
        # Outside the declared outputs: Snakemake deletes those before a rerun.
        checkpoint_dir=lambda wildcards: f"{CONTINUAL}/checkpoints/{wildcards.strategy}/seed{wildcards.seed}/{wildcards.phase}",
    script:
        "../../scripts/train.py"
