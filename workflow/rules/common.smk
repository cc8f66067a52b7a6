# Config validation, paths and input functions shared by the rules.

from snakemake.utils import validate

from lmtune.config import check_config
from lmtune.models import parse_source


validate(config, "../schemas/config.schema.yaml")
check_config(config)

EXPERIMENTS = [name for name in ("continual", "arithmetic", "java") if name in config]
CONTINUAL = "results/continual"
ARITHMETIC = "results/arithmetic"
ARITHMETIC_EVAL_SETS = ["eval_seen", "eval_held_out", "eval_ood"]
ARITHMETIC_VARIANTS = ["base", "lora"]
JAVA = "results/java"
JAVA_TEST_SPLITS = ["test", "test_unseen_words"]
JAVA_LM_VARIANTS = ["base", "stage1"]
COMPUTE = config["compute"]
ENV = "../../envs/lmtune.yaml"

# Each experiment starts from the top-level base_model unless its section names its own
# (the seeds used distilgpt2, Mistral-7B and GPT-2). A local folder is used in place;
# any other source is materialised once under resources/models/<name>.
MATERIALISED_MODELS = {}


def _model_folder(spec):
    source = parse_source(spec["source"])
    if source.kind == "folder":
        return source.location
    MATERIALISED_MODELS[source.slug] = spec
    return f"resources/models/{source.slug}"


BASE_MODELS = {
    name: _model_folder(config[name].get("base_model", config["base_model"]))
    for name in EXPERIMENTS
}


wildcard_constraints:
    model="|".join(MATERIALISED_MODELS) or "(?!)",
    domain="[A-Za-z0-9]+",
    phase="[A-Za-z0-9]+",
    stage="base|after_[A-Za-z0-9]+",
    split="train|test",
    block_size="[0-9]+",
    variant="[A-Za-z0-9_]+",
    run="[A-Za-z0-9]+",


def phase_settings(phase):
    return config["continual"]["phases"][phase]


def stage_model(stage):
    """The model folder a stage stands for: the base model or a phase's final model."""
    return BASE_MODELS["continual"] if stage == "base" else f"{CONTINUAL}/phases/{stage.removeprefix('after_')}/model"


def previous_stage(phase):
    order = config["continual"]["order"]
    position = order.index(phase)
    return "base" if position == 0 else f"after_{order[position - 1]}"


def phase_start_model(wildcards):
    return stage_model(previous_stage(wildcards.phase))


def phase_train_tokens(wildcards):
    block = phase_settings(wildcards.phase)["block_size"]
    return f"{CONTINUAL}/tokens/{wildcards.phase}/train_block{block}"


def eval_tokens(wildcards):
    block = config["continual"]["evaluation"]["block_size"]
    return f"{CONTINUAL}/tokens/{wildcards.domain}/test_block{block}"


def domain_corpus(wildcards):
    return config["continual"]["domains"][wildcards.domain]["corpus"]


def stage_evaluations():
    order = config["continual"]["order"]
    return [
        f"{CONTINUAL}/eval/{stage}/{domain}.json"
        for stage in ["base"] + [f"after_{phase}" for phase in order]
        for domain in order
    ]


def phase_loss_logs():
    return [f"{CONTINUAL}/phases/{phase}/train_loss.csv" for phase in config["continual"]["order"]]


def arithmetic_generation_inputs(wildcards):
    inputs = {
        "model": BASE_MODELS["arithmetic"],
        "prompts": [f"{ARITHMETIC}/data/{name}.jsonl" for name in ARITHMETIC_EVAL_SETS],
    }
    if wildcards.variant == "lora":
        inputs["adapter"] = f"{ARITHMETIC}/adapter"
    return inputs


def java_corpus_files(wildcards):
    """The corpus sources that are files or folders (not the 'jdk' keyword)."""
    return [source for source in config["java"]["corpus"]["sources"] if source != "jdk"]


def java_variants():
    return ["base", "stage1", *(f"stage2_{run}" for run in config["java"]["instruct_runs"])]


def java_model(variant):
    if variant == "base":
        return BASE_MODELS["java"]
    if variant == "stage1":
        return f"{JAVA}/stage1/model"
    return f"{JAVA}/stage2/{variant.removeprefix('stage2_')}/model"


def all_targets():
    """The final outputs of every experiment the config has a section for."""
    targets = {
        "continual": [f"{CONTINUAL}/metrics.json", f"{CONTINUAL}/perplexity.png", f"{CONTINUAL}/train_loss.png"],
        "arithmetic": [f"{ARITHMETIC}/metrics.json", f"{ARITHMETIC}/error_by_target.png"],
        "java": [f"{JAVA}/metrics.json", f"{JAVA}/examples.md", f"{JAVA}/accuracy.png"],
    }
    return [path for name in EXPERIMENTS for path in targets[name]]
