# The LoRA (QLoRA where the config says) on the arithmetic examples.


rule train_lora:
    input:
        model=BASE_MODELS["arithmetic"],
        tokens=f"{ARITHMETIC}/tokens/train",
    output:
        model=directory(f"{ARITHMETIC}/adapter"),
        loss_log=f"{ARITHMETIC}/train_loss.csv",
    log:
        f"{LOGS}/train_lora.log",
    benchmark:
        f"{BENCHMARKS}/train_lora.tsv"
    conda:
        ENV
    threads: job_threads("training")
    resources:
        **job_resources("training"),
    params:
        spec=recipe.arithmetic_lora(config).to_dict(),
        checkpoint_dir=f"{ARITHMETIC}/checkpoints",
    script:
        "../../scripts/train.py"
