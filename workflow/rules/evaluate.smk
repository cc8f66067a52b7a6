# Loss and perplexity of each stage's model on each domain's test split.


rule evaluate_stage:
    input:
        model=lambda wildcards: stage_model(wildcards.stage),
        tokens=eval_tokens,
    output:
        f"{CONTINUAL}/eval/{{stage}}/{{domain}}.json",
    params:
        batch_size=config["continual"]["evaluation"]["batch_size"],
        compute=COMPUTE,
    log:
        "results/logs/evaluate_stage/{stage}_{domain}.log",
    benchmark:
        "results/benchmarks/evaluate_stage/{stage}_{domain}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/evaluate_model.py"
