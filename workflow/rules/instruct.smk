# Instruction tuning on the user's own data (prompt/completion or chat records, read by
# lmtune.instruct.data): split, tokenize with the loss on the answers, train (LoRA or full,
# through lmtune.recipe.instruct), evaluate loss and perplexity on the validation split,
# generate answers to its prompts, score them, and export a plain transformers folder.


rule prepare_instruct_data:
    input:
        **instruct_data_files(),
    output:
        **{part: f"{INSTRUCT}/data/{part}.jsonl" for part in INSTRUCT_SPLITS},
    log:
        f"{LOGS}/prepare_instruct_data.log",
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    params:
        split=instruct_split_settings(),
        record_format=config["instruct"]["data"]["format"],
    script:
        "../scripts/prepare_instruct_data.py"


rule tokenize_instruct:
    input:
        examples=f"{INSTRUCT}/data/{{instruct_split}}.jsonl",
        model=BASE_MODELS["instruct"],
    output:
        directory(f"{INSTRUCT}/tokens/{{instruct_split}}"),
    log:
        f"{LOGS}/tokenize_instruct/{{instruct_split}}.log",
    wildcard_constraints:
        instruct_split="|".join(INSTRUCT_SPLITS),
    priority: 10
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    params:
        encoding={"max_length": config["instruct"]["max_length"], "overlong": config["instruct"]["overlong"]},
    script:
        "../scripts/tokenize_instructions.py"


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
        "../scripts/train.py"


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
        "../scripts/evaluate_instructions.py"


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
        "../scripts/generate_instruct_answers.py"


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
        "../scripts/score_instruct.py"


# A model to take away: the adapter merged into its base, or the fully fine-tuned model
# written again (it is a standard folder already, but in fp32 whatever compute.precision
# says: written in that precision, both kinds export alike). It loads the whole model
# on the CPU: a heavy job, sized as an evaluation.
rule export_instruct:
    input:
        unpack(instruct_model_inputs),
    output:
        directory(f"{INSTRUCT}/export"),
    log:
        f"{LOGS}/export_instruct.log",
    benchmark:
        f"{BENCHMARKS}/export_instruct.tsv"
    conda:
        ENV
    threads: job_threads("evaluation")
    resources:
        **job_resources("evaluation"),
    params:
        precision=COMPUTE["precision"],
    script:
        "../scripts/export_model.py"
