# Config validation, paths and input functions shared by the rules.

from snakemake.utils import validate

from lmtune.config import check_config
from lmtune.models import parse_source


validate(config, "../schemas/config.schema.yaml")
check_config(config)

CONTINUAL = "results/continual"
ARITHMETIC = "results/arithmetic"
ARITHMETIC_EVAL_SETS = ["eval_seen", "eval_held_out", "eval_ood"]
ARITHMETIC_VARIANTS = ["base", "lora"]
ORDER = config["continual"]["order"]
COMPUTE = config["compute"]
ENV = "../../envs/lmtune.yaml"

_source = parse_source(config["base_model"]["source"])
# A local folder is used as it is; any other source is materialised once under resources/.
BASE_MODEL = _source.location if _source.kind == "folder" else f"resources/models/{_source.slug}"


wildcard_constraints:
    domain="[A-Za-z0-9]+",
    phase="[A-Za-z0-9]+",
    stage="base|after_[A-Za-z0-9]+",
    split="train|test",
    block_size="[0-9]+",
    variant="|".join(ARITHMETIC_VARIANTS),


def phase_settings(phase):
    return config["continual"]["phases"][phase]


def stage_model(stage):
    """The model folder a stage stands for: the base model or a phase's final model."""
    return BASE_MODEL if stage == "base" else f"{CONTINUAL}/phases/{stage.removeprefix('after_')}/model"


def previous_stage(phase):
    position = ORDER.index(phase)
    return "base" if position == 0 else f"after_{ORDER[position - 1]}"


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
    return [
        f"{CONTINUAL}/eval/{stage}/{domain}.json"
        for stage in ["base"] + [f"after_{phase}" for phase in ORDER]
        for domain in ORDER
    ]


def phase_loss_logs():
    return [f"{CONTINUAL}/phases/{phase}/train_loss.csv" for phase in ORDER]


def arithmetic_generation_inputs(wildcards):
    inputs = {
        "model": BASE_MODEL,
        "prompts": [f"{ARITHMETIC}/data/{name}.jsonl" for name in ARITHMETIC_EVAL_SETS],
    }
    if wildcards.variant == "lora":
        inputs["adapter"] = f"{ARITHMETIC}/adapter"
    return inputs


def all_targets():
    targets = continual_targets()
    if "arithmetic" in config:
        targets += [f"{ARITHMETIC}/metrics.json", f"{ARITHMETIC}/error_by_target.png"]
    return targets


def continual_targets():
    return [
        f"{CONTINUAL}/metrics.json",
        f"{CONTINUAL}/perplexity.png",
        f"{CONTINUAL}/train_loss.png",
    ]
