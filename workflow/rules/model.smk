# The base model, materialised once as a transformers folder (safetensors).


rule prepare_base_model:
    output:
        directory("resources/models/{model}"),
    log:
        f"{LOGS}/prepare_base_model/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/prepare_base_model/{{model}}.tsv"
    conda:
        ENV
    resources:
        mem_mb=4000,
    params:
        source=lambda wildcards: MATERIALISED_MODELS[wildcards.model]["source"],
        trust_remote_code=lambda wildcards: MATERIALISED_MODELS[wildcards.model]["trust_remote_code"],
    script:
        "../scripts/prepare_base_model.py"
