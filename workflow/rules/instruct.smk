# Instruction tuning on the user's own data (prompt/completion or chat records, read by
# lmtune.sft.data): split, tokenize with the loss on the answers, train (LoRA or full,
# through lmtune.recipe.instruct), evaluate loss and perplexity on the validation split,
# generate answers to its prompts, score them, and export a plain transformers folder.


# Light jobs (no model): run where Snakemake runs, never submitted to a cluster.
localrules:
    prepare_instruct_data,
    tokenize_instruct,
    score_instruct,


rule prepare_instruct_data:
    input:
        **instruct_data_files(),
    output:
        **{part: f"{INSTRUCT}/data/{part}.jsonl" for part in INSTRUCT_SPLITS},
    params:
        split=instruct_split_settings(),
    log:
        "results/logs/prepare_instruct_data.log",
    conda:
        ENV
    script:
        "../scripts/prepare_instruct_data.py"


rule tokenize_instruct:
    input:
        examples=f"{INSTRUCT}/data/{{instruct_split}}.jsonl",
        model=BASE_MODELS["instruct"],
    output:
        directory(f"{INSTRUCT}/tokens/{{instruct_split}}"),
    params:
        max_length=config["instruct"]["max_length"],
        overlong=config["instruct"]["overlong"],
    wildcard_constraints:
        instruct_split="|".join(INSTRUCT_SPLITS),
    priority: 10
    log:
        "results/logs/tokenize_instruct/{instruct_split}.log",
    conda:
        ENV
    script:
        "../scripts/tokenize_instructions.py"


rule train_instruct:
    input:
        model=BASE_MODELS["instruct"],
        tokens=f"{INSTRUCT}/tokens/train",
    output:
        model=directory(instruct_trained()),
        loss_log=f"{INSTRUCT}/train_loss.csv",
    params:
        spec=recipe.instruct(config).to_dict(),
        checkpoint_dir=f"{INSTRUCT}/checkpoints",
    log:
        "results/logs/train_instruct.log",
    benchmark:
        "results/benchmarks/train_instruct.tsv"
    threads: job_threads("training")
    resources:
        **job_resources("training"),
    conda:
        ENV
    script:
        "../scripts/train.py"


rule evaluate_instruct:
    input:
        unpack(instruct_model_inputs),
        tokens=f"{INSTRUCT}/tokens/validation",
    output:
        f"{INSTRUCT}/eval/validation.json",
    params:
        batch_size=config["instruct"]["evaluation"]["batch_size"],
        quantize_4bit=recipe.instruct(config).quantized,
        compute=COMPUTE,
    log:
        "results/logs/evaluate_instruct.log",
    benchmark:
        "results/benchmarks/evaluate_instruct.tsv"
    threads: job_threads("evaluation")
    resources:
        **job_resources("evaluation"),
    conda:
        ENV
    script:
        "../scripts/evaluate_instructions.py"


rule generate_instruct:
    input:
        unpack(instruct_model_inputs),
        examples=f"{INSTRUCT}/data/validation.jsonl",
    output:
        f"{INSTRUCT}/generations/validation.jsonl",
    params:
        max_new_tokens=config["instruct"]["generation"]["max_new_tokens"],
        batch_size=config["instruct"]["generation"]["batch_size"],
        quantize_4bit=recipe.instruct(config).quantized,
        compute=COMPUTE,
    log:
        "results/logs/generate_instruct.log",
    benchmark:
        "results/benchmarks/generate_instruct.tsv"
    threads: job_threads("generation")
    resources:
        **job_resources("generation"),
    conda:
        ENV
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
        "results/logs/score_instruct.log",
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
    params:
        precision=COMPUTE["precision"],
    log:
        "results/logs/export_instruct.log",
    benchmark:
        "results/benchmarks/export_instruct.tsv"
    threads: job_threads("evaluation")
    resources:
        **job_resources("evaluation"),
    conda:
        ENV
    script:
        "../scripts/export_model.py"
