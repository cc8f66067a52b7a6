# A plain transformers folder: the adapter merged into its base.


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
        "../../scripts/export_model.py"
