# Corpus splitting and tokenization.


# Light jobs (no model): run where Snakemake runs, never submitted to a cluster.
localrules:
    split_corpus,
    tokenize_split,


rule split_corpus:
    input:
        corpus=domain_corpus,
    output:
        train=f"{CONTINUAL}/data/{{domain}}/train.txt",
        test=f"{CONTINUAL}/data/{{domain}}/test.txt",
    params:
        test_fraction=config["continual"]["split"]["test_fraction"],
        seed=config["continual"]["split"]["seed"],
    log:
        "results/logs/split_corpus/{domain}.log",
    conda:
        ENV
    script:
        "../scripts/split_corpus.py"


rule tokenize_split:
    input:
        text=f"{CONTINUAL}/data/{{domain}}/{{split}}.txt",
        model=BASE_MODELS["continual"],
    output:
        directory(f"{CONTINUAL}/tokens/{{domain}}/{{split}}_block{{block_size}}"),
    # Before any training, so a split too short for one block fails first.
    priority: 10
    log:
        "results/logs/tokenize_split/{domain}_{split}_block{block_size}.log",
    conda:
        ENV
    script:
        "../scripts/tokenize_split.py"
