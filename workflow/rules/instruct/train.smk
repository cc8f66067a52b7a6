# LoRA or full fine-tuning (lmtune.recipe.instruct).


rule train_instruct:
    input:
        model=BASE_MODELS["instruct"],
        tokens=f"{INSTRUCT}/tokens/train",
    output:
        model=directory(instruct_trained()),
        loss_log=f"{INSTRUCT}/train_loss.csv",
    log:
        f"{LOGS}/train_instruct.log",
    benchmark:
        f"{BENCHMARKS}/train_instruct.tsv"
    conda:
        ENV
    threads: job_threads("training")
    resources:
        **job_resources("training"),
    params:
        spec=recipe.instruct(config).to_dict(),
        checkpoint_dir=f"{INSTRUCT}/checkpoints",
    script:
        "../../scripts/train.py"
