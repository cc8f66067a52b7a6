# The arithmetic data (generated) and its tokens.


rule generate_arithmetic_data:
    output:
        **{name: f"{ARITHMETIC}/data/{name}.jsonl" for name in ["train", *ARITHMETIC_EVAL_SETS]},
    log:
        f"{LOGS}/generate_arithmetic_data.log",
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    params:
        settings=config["arithmetic"]["data"],
    script:
        "../../scripts/generate_arithmetic_data.py"


rule tokenize_arithmetic:
    input:
        examples=f"{ARITHMETIC_DATA}/data/train.jsonl",
        model=BASE_MODELS["arithmetic"],
    output:
        directory(f"{ARITHMETIC}/tokens/train"),
    log:
        f"{LOGS}/tokenize_arithmetic.log",
    priority: 10
    # Light (no model): runs where Snakemake runs, never submitted to a cluster.
    localrule: True
    conda:
        ENV
    params:
        encoding={"separator": ARITHMETIC_SEPARATOR},
    script:
        "../../scripts/tokenize_instructions.py"
