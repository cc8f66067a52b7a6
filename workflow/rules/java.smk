# Seed 003, part 2: Java code generation. Stage 1 fine-tunes the base model on Java
# snippets (autoregressive); stage 2 instruction-tunes stage 1 on comment-to-code pairs,
# once per configured run.


rule prepare_java_corpus:
    input:
        java_corpus_files,
    output:
        train=f"{JAVA}/corpus/train.jsonl",
        test=f"{JAVA}/corpus/test.jsonl",
    log:
        f"{LOGS}/prepare_java_corpus.log",
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    params:
        settings=config["java"]["corpus"],
    script:
        "../scripts/prepare_java_corpus.py"


rule tokenize_java_corpus:
    input:
        snippets=f"{JAVA}/corpus/{{split}}.jsonl",
        model=BASE_MODELS["java"],
    output:
        directory(f"{JAVA}/tokens/corpus_{{split}}_block{{block_size}}"),
    log:
        f"{LOGS}/tokenize_java_corpus/{{split}}_block{{block_size}}.log",
    priority: 10
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    script:
        "../scripts/tokenize_snippets.py"


rule train_java_autoregressive:
    input:
        model=BASE_MODELS["java"],
        tokens=f"{JAVA}/tokens/corpus_train_block{config['java']['autoregressive']['block_size']}",
    output:
        model=directory(f"{JAVA}/stage1/model"),
        loss_log=f"{JAVA}/stage1/train_loss.csv",
    log:
        f"{LOGS}/train_java_autoregressive.log",
    benchmark:
        f"{BENCHMARKS}/train_java_autoregressive.tsv"
    conda:
        ENV
    threads: job_threads("training")
    resources:
        **job_resources("training"),
    params:
        spec=recipe.java_autoregressive(config).to_dict(),
        checkpoint_dir=f"{JAVA}/checkpoints/stage1",
    script:
        "../scripts/train.py"


rule evaluate_java_lm:
    input:
        model=lambda wildcards: java_model(wildcards.variant),
        tokens=[f"{JAVA}/tokens/corpus_test_block{config['java']['evaluation']['block_size']}"],
    output:
        f"{JAVA}/heldout_lm/{{variant}}.json",
    log:
        f"{LOGS}/evaluate_java_lm/{{variant}}.log",
    benchmark:
        f"{BENCHMARKS}/evaluate_java_lm/{{variant}}.tsv"
    conda:
        ENV
    threads: job_threads("evaluation")
    resources:
        **job_resources("evaluation"),
    params:
        batch_size=config["java"]["evaluation"]["batch_size"],
        compute=COMPUTE,
    script:
        "../scripts/evaluate_model.py"


rule generate_java_tasks:
    output:
        **{name: f"{JAVA}/tasks/{name}.jsonl" for name in ["train", *JAVA_TEST_SPLITS]},
    log:
        f"{LOGS}/generate_java_tasks.log",
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    params:
        settings=config["java"]["instructions"],
    script:
        "../scripts/generate_java_tasks.py"


rule tokenize_java_tasks:
    input:
        examples=f"{JAVA}/tasks/train.jsonl",
        model=BASE_MODELS["java"],
    output:
        directory(f"{JAVA}/tokens/tasks_train"),
    log:
        f"{LOGS}/tokenize_java_tasks.log",
    priority: 10
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    params:
        encoding={"separator": "\n"},
    script:
        "../scripts/tokenize_instructions.py"


rule train_java_instruct:
    input:
        model=f"{JAVA}/stage1/model",
        tokens=f"{JAVA}/tokens/tasks_train",
    output:
        model=directory(f"{JAVA}/stage2/{{run}}/model"),
        loss_log=f"{JAVA}/stage2/{{run}}/train_loss.csv",
    log:
        f"{LOGS}/train_java_instruct/{{run}}.log",
    benchmark:
        f"{BENCHMARKS}/train_java_instruct/{{run}}.tsv"
    conda:
        ENV
    threads: job_threads("training")
    resources:
        **job_resources("training"),
    params:
        spec=lambda wildcards: recipe.java_instruct(config, wildcards.run).to_dict(),
        checkpoint_dir=lambda wildcards: f"{JAVA}/checkpoints/stage2_{wildcards.run}",
    script:
        "../scripts/train.py"


rule generate_java_code:
    input:
        model=lambda wildcards: java_model(wildcards.variant),
        tasks=[f"{JAVA}/tasks/{name}.jsonl" for name in JAVA_TEST_SPLITS],
    output:
        f"{JAVA}/generations/{{variant}}.jsonl",
    log:
        f"{LOGS}/generate_java_code/{{variant}}.log",
    benchmark:
        f"{BENCHMARKS}/generate_java_code/{{variant}}.tsv"
    conda:
        ENV
    threads: job_threads("generation")
    resources:
        **job_resources("generation"),
    params:
        splits=JAVA_TEST_SPLITS,
        max_new_tokens=config["java"]["generation"]["max_new_tokens"],
        batch_size=config["java"]["generation"]["batch_size"],
        compute=COMPUTE,
    script:
        "../scripts/generate_java_code.py"


rule score_java:
    input:
        generations=expand(f"{JAVA}/generations/{{variant}}.jsonl", variant=java_variants()),
        lm_evals=expand(f"{JAVA}/heldout_lm/{{variant}}.json", variant=JAVA_LM_VARIANTS),
    output:
        scored=expand(f"{JAVA}/scored/{{variant}}.jsonl", variant=java_variants()),
        metrics=f"{JAVA}/metrics.json",
        examples=f"{JAVA}/examples.md",
        plot=report(f"{JAVA}/accuracy.png", caption="../report/java_accuracy.rst", category="Java code generation"),
    log:
        f"{LOGS}/score_java.log",
    benchmark:
        f"{BENCHMARKS}/score_java.tsv"
    conda:
        ENV
    threads: 2  # generations judged at a time, each in a sandboxed JVM of its own
    params:
        variants=java_variants(),
        lm_models=JAVA_LM_VARIANTS,
        examples_per_split=5,
    script:
        "../scripts/score_java.py"
