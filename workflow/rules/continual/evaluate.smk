# Loss and perplexity of a continual model on each domain's test split: the base model
# (results/continual/base) or a run's phase (results/continual/<strategy>/seed<seed>/<phase>).
# One job per model: it is loaded once and evaluated on every domain.


rule evaluate_continual_model:
    input:
        model=continual_model,
        tokens=eval_tokens,
    output:
        **{domain: f"{CONTINUAL}/{{model_dir}}/eval/{domain}.json" for domain in continual_order()},
    log:
        f"{LOGS}/evaluate_continual_model/{{model_dir}}.log",
    benchmark:
        f"{BENCHMARKS}/evaluate_continual_model/{{model_dir}}.tsv"
    conda:
        ENV
    threads: job_threads("evaluation")
    resources:
        **job_resources("evaluation"),
    params:
        # The test stores are cut into blocks of the evaluation's size as they load.
        **CONTINUAL_JOBS.evaluation_settings(),
    script:
        "../../scripts/evaluate_model.py"
