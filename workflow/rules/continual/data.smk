# Corpus splitting and tokenization: a small split file per domain (which side each
# document is on, never the text), then both sides tokenized into compact token stores.
# Blocks are cut from a store when a job loads it, at the size that job uses.


rule split_corpus:
    input:
        corpus=domain_corpus,
    output:
        f"{CONTINUAL}/data/{{domain}}/split.json",
    log:
        f"{LOGS}/split_corpus/{{domain}}.log",
    # Light (reads the corpus once, holds no text): runs where Snakemake runs.
    localrule: True
    conda:
        ENV
    params:
        **CONTINUAL_JOBS.split_settings(),
        corpus=lambda wildcards: CONTINUAL_JOBS.corpus_setting(wildcards.domain),
    script:
        "../../scripts/split_corpus.py"


rule tokenize_split:
    input:
        split=f"{CONTINUAL}/data/{{domain}}/split.json",
        corpus=domain_corpus,
        model=BASE_MODELS["continual"],
    output:
        train=directory(f"{CONTINUAL}/tokens/{{domain}}/train"),
        test=directory(f"{CONTINUAL}/tokens/{{domain}}/test"),
    log:
        f"{LOGS}/tokenize_split/{{domain}}.log",
    benchmark:
        f"{BENCHMARKS}/tokenize_split/{{domain}}.tsv"
    # Before any training, so a corpus that cannot be tokenized fails first.
    priority: 10
    # No model and flat memory (a batch of text at a time, written as it goes): runs where
    # Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    # The fast tokenizer's threads: every core (Snakemake caps a job's threads at --cores).
    threads: os.cpu_count()
    params:
        **CONTINUAL_JOBS.tokenize_settings(),
    script:
        "../../scripts/tokenize_split.py"
