# Stage 1 on the snippets, then stage 2 on the tasks, once per configured run.


rule train_java_autoregressive:
    input:
        model=BASE_MODELS["java"],
        tokens=f"{JAVA}/tokens/corpus_train",
    output:
        model=directory(f"{JAVA}/stage1/model"),
        loss_log=f"{JAVA}/stage1/train_loss.csv",
    log:
        f"{LOGS}/train_java_autoregressive.log",
    benchmark:
        f"{BENCHMARKS}/train_java_autoregressive.tsv"
    conda:
        ENV
    threads: job_threads("training")
    resources:
        **job_resources("training"),
    params:
        spec=recipe.java_autoregressive(config).to_dict(),
        checkpoint_dir=f"{JAVA}/checkpoints/stage1",
    script:
        "../../scripts/train.py"


rule train_java_instruct:
    input:
        model=java_model("stage1"),
        tokens=f"{JAVA}/tokens/tasks_train",
    output:
        model=directory(f"{JAVA}/stage2/{{run}}/model"),
        loss_log=f"{JAVA}/stage2/{{run}}/train_loss.csv",
    log:
        f"{LOGS}/train_java_instruct/{{run}}.log",
    benchmark:
        f"{BENCHMARKS}/train_java_instruct/{{run}}.tsv"
    conda:
        ENV
    threads: job_threads("training")
    resources:
        **job_resources("training"),
    params:
        spec=lambda wildcards: recipe.java_instruct(config, wildcards.run).to_dict(),
        checkpoint_dir=lambda wildcards: f"{JAVA}/checkpoints/stage2_{wildcards.run}",
    script:
        "../../scripts/train.py"
