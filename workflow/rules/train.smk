# Continual pre-training: one phase per domain of `continual.order`, each starting from
# the previous phase's final model (phase 1 from the base model).


rule train_phase:
    input:
        model=phase_start_model,
        tokens=phase_train_tokens,
    output:
        model=directory(f"{CONTINUAL}/phases/{{phase}}/model"),
        loss_log=f"{CONTINUAL}/phases/{{phase}}/train_loss.csv",
    params:
        settings=lambda wildcards: phase_settings(wildcards.phase),
        data="blocks",
        seed=config["seed"],
        compute=COMPUTE,
        # Outside the declared outputs: Snakemake deletes those before a rerun.
        checkpoint_dir=lambda wildcards: f"{CONTINUAL}/checkpoints/{wildcards.phase}",
    log:
        "results/logs/train_phase/{phase}.log",
    benchmark:
        "results/benchmarks/train_phase/{phase}.tsv"
    threads: lambda wildcards: workflow.cores
    resources:
        mem_mb=lambda wildcards, attempt: 8000 * attempt,
        runtime=120,
    conda:
        ENV
    script:
        "../scripts/train_full.py"
