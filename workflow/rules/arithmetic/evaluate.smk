# Answers of the base model and of the LoRA, and their scores.


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
        "../../scripts/generate_arithmetic_answers.py"


rule score_arithmetic:
    input:
        expand(f"{ARITHMETIC}/generations/{{variant}}.jsonl", variant=ARITHMETIC_VARIANTS),
    output:
        scored=expand(f"{ARITHMETIC}/scored/{{variant}}.jsonl", variant=ARITHMETIC_VARIANTS),
        metrics=f"{ARITHMETIC}/metrics.json",
        plot=report(
            f"{ARITHMETIC}/error_by_target.png",
            caption="../../report/arithmetic_error.rst",
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
        "../../scripts/score_arithmetic.py"
