# Loss on the held-out snippets; code generated for the test tasks, compiled and run in
# the sandbox, and scored.


rule evaluate_java_lm:
    input:
        model=lambda wildcards: java_model(wildcards.variant),
        tokens=[f"{JAVA}/tokens/corpus_test"],
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
        block_size=config["java"]["evaluation"]["block_size"],
        compute=COMPUTE,
    script:
        "../../scripts/evaluate_model.py"


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
        sampling=java_sampling(drawn=True),
        compute=COMPUTE,
    script:
        "../../scripts/generate_java_code.py"


rule score_java:
    input:
        generations=expand(f"{JAVA}/generations/{{variant}}.jsonl", variant=java_variants()),
        lm_evals=expand(f"{JAVA_STAGE1}/heldout_lm/{{variant}}.json", variant=JAVA_LM_VARIANTS),
    output:
        scored=expand(f"{JAVA}/scored/{{variant}}.jsonl", variant=java_variants()),
        metrics=f"{JAVA}/metrics.json",
        examples=f"{JAVA}/examples.md",
        plot=report(f"{JAVA}/accuracy.png", caption="../../report/java_accuracy.rst", category="Java code generation"),
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
        allow_without_filesystem_isolation=config["java"]["sandbox"]["allow_without_filesystem_isolation"],
    script:
        "../../scripts/score_java.py"


rule java_pass_at_k:
    input:
        scored=expand(f"{JAVA}/scored/{{variant}}.jsonl", variant=java_variants()),
    output:
        f"{JAVA}/pass_at_k.json",
    log:
        f"{LOGS}/java_pass_at_k.log",
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    params:
        variants=java_variants(),
        ks=config["java"]["generation"]["pass_at_k"],
        sampling=java_sampling(drawn=False),  # reported beside the figures
    script:
        "../../scripts/java_pass_at_k.py"
