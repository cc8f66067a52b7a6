# Corpus splitting and tokenization.


rule split_corpus:
    input:
        corpus=domain_corpus,
    output:
        train=f"{CONTINUAL}/data/{{domain}}/train.txt",
        test=f"{CONTINUAL}/data/{{domain}}/test.txt",
    log:
        f"{LOGS}/split_corpus/{{domain}}.log",
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    params:
        **CONTINUAL_JOBS.split_settings(),
    script:
        "../../scripts/split_corpus.py"


rule tokenize_split:
    input:
        text=f"{CONTINUAL}/data/{{domain}}/{{split}}.txt",
        model=BASE_MODELS["continual"],
    output:
        directory(f"{CONTINUAL}/tokens/{{domain}}/{{split}}_block{{block_size}}"),
    log:
        f"{LOGS}/tokenize_split/{{domain}}_{{split}}_block{{block_size}}.log",
    # Before any training, so a split too short for one block fails first.
    priority: 10
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    script:
        "../../scripts/tokenize_split.py"
