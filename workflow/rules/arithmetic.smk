# Seed 003, part 1: LoRA (optionally QLoRA) on sums written in Spanish number words.


rule generate_arithmetic_data:
    output:
        **{name: f"{ARITHMETIC}/data/{name}.jsonl" for name in ["train", *ARITHMETIC_EVAL_SETS]},
    log:
        f"{LOGS}/generate_arithmetic_data.log",
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    params:
        settings=config["arithmetic"]["data"],
    script:
        "../scripts/generate_arithmetic_data.py"


rule tokenize_arithmetic:
    input:
        examples=f"{ARITHMETIC}/data/train.jsonl",
        model=BASE_MODELS["arithmetic"],
    output:
        directory(f"{ARITHMETIC}/tokens/train"),
    log:
        f"{LOGS}/tokenize_arithmetic.log",
    priority: 10
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    params:
        encoding={"separator": ARITHMETIC_SEPARATOR},
    script:
        "../scripts/tokenize_instructions.py"


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
        "../scripts/train.py"


rule generate_arithmetic_answers:
    input:
        unpack(arithmetic_generation_inputs),
    output:
        f"{ARITHMETIC}/generations/{{variant}}.jsonl",
    log:
        f"{LOGS}/generate_arithmetic_answers/{{variant}}.log",
    benchmark:
        f"{BENCHMARKS}/generate_arithmetic_answers/{{variant}}.tsv"
    conda:
        ENV
    threads: job_threads("generation")
    resources:
        **job_resources("generation"),
    params:
        eval_sets=ARITHMETIC_EVAL_SETS,
        max_new_tokens=config["arithmetic"]["generation"]["max_new_tokens"],
        batch_size=config["arithmetic"]["generation"]["batch_size"],
        quantize_4bit=config["arithmetic"]["lora"]["quantize_4bit"],
        compute=COMPUTE,
    script:
        "../scripts/generate_arithmetic_answers.py"


rule score_arithmetic:
    input:
        expand(f"{ARITHMETIC}/generations/{{variant}}.jsonl", variant=ARITHMETIC_VARIANTS),
    output:
        scored=expand(f"{ARITHMETIC}/scored/{{variant}}.jsonl", variant=ARITHMETIC_VARIANTS),
        metrics=f"{ARITHMETIC}/metrics.json",
        plot=report(
            f"{ARITHMETIC}/error_by_target.png",
            caption="../report/arithmetic_error.rst",
            category="Arithmetic (LoRA)",
        ),
    log:
        f"{LOGS}/score_arithmetic.log",
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    params:
        variants=ARITHMETIC_VARIANTS,
        eval_sets=ARITHMETIC_EVAL_SETS,
        addend_range=config["arithmetic"]["data"]["addend_range"],
    script:
        "../scripts/score_arithmetic.py"
