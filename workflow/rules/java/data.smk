# The Java snippets (stage 1) and the comment-to-code tasks (stage 2), tokenized.


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
        "../../scripts/prepare_java_corpus.py"


rule tokenize_java_corpus:
    input:
        snippets=f"{JAVA}/corpus/{{split}}.jsonl",
        model=BASE_MODELS["java"],
    output:
        directory(f"{JAVA}/tokens/corpus_{{split}}"),
    log:
        f"{LOGS}/tokenize_java_corpus/{{split}}.log",
    priority: 10
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    script:
        "../../scripts/tokenize_snippets.py"


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
        "../../scripts/generate_java_tasks.py"


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
        "../../scripts/tokenize_instructions.py"
