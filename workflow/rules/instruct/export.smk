# A model to take away: the adapter merged into its base, or the fully fine-tuned model
# written again (it is a standard folder already, but in fp32 whatever compute.precision
# says: written in that precision, both kinds export alike). It loads the whole model
# on the CPU: a heavy job, sized as an evaluation.


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
