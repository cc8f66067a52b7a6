# Loss and perplexity on the validation split; answers generated to its prompts, scored.


rule evaluate_instruct:
    input:
        unpack(instruct_model_inputs),
        tokens=f"{INSTRUCT}/tokens/validation",
    output:
        f"{INSTRUCT}/eval/validation.json",
    log:
        f"{LOGS}/evaluate_instruct.log",
    benchmark:
        f"{BENCHMARKS}/evaluate_instruct.tsv"
    conda:
        ENV
    threads: job_threads("evaluation")
    resources:
        **job_resources("evaluation"),
    params:
        batch_size=config["instruct"]["evaluation"]["batch_size"],
        quantize_4bit=recipe.instruct(config).quantized,
        compute=COMPUTE,
    script:
        "../../scripts/evaluate_instructions.py"


rule generate_instruct:
    input:
        unpack(instruct_model_inputs),
        examples=f"{INSTRUCT}/data/validation.jsonl",
    output:
        f"{INSTRUCT}/generations/validation.jsonl",
    log:
        f"{LOGS}/generate_instruct.log",
    benchmark:
        f"{BENCHMARKS}/generate_instruct.tsv"
    conda:
        ENV
    threads: job_threads("generation")
    resources:
        **job_resources("generation"),
    params:
        max_new_tokens=config["instruct"]["generation"]["max_new_tokens"],
        batch_size=config["instruct"]["generation"]["batch_size"],
        quantize_4bit=recipe.instruct(config).quantized,
        compute=COMPUTE,
    script:
        "../../scripts/generate_instruct_answers.py"


rule score_instruct:
    input:
        generations=f"{INSTRUCT}/generations/validation.jsonl",
        evaluation=f"{INSTRUCT}/eval/validation.json",
    output:
        scored=f"{INSTRUCT}/scored/validation.jsonl",
        metrics=f"{INSTRUCT}/metrics.json",
    log:
        f"{LOGS}/score_instruct.log",
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    script:
        "../../scripts/score_instruct.py"
