# Loss and perplexity of a stage's model on each domain's test split: the base model
# (results/continual/base) or a run's phase (results/continual/<strategy>/seed<seed>/<phase>).


rule evaluate_stage:
    input:
        model=stage_model,
        tokens=eval_tokens,
    output:
        f"{CONTINUAL}/{{stage_dir}}/eval/{{domain}}.json",
    params:
        batch_size=config["continual"]["evaluation"]["batch_size"],
        compute=COMPUTE,
    log:
        "results/logs/evaluate_stage/{stage_dir}/{domain}.log",
    benchmark:
        "results/benchmarks/evaluate_stage/{stage_dir}/{domain}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/evaluate_model.py"
