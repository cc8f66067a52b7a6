# The user's data split (or the validation file read) and tokenized, the loss on the answers.


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
        "../../scripts/prepare_instruct_data.py"


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
        "../../scripts/tokenize_instructions.py"
