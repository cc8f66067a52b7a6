# Seed 003, part 1: LoRA (optionally QLoRA) on sums written in Spanish number words.

from lmtune import recipe

ARITHMETIC, ARITHMETIC_MADE_HERE = experiment_results("arithmetic")
ARITHMETIC_EVAL_SETS = ["eval_seen", "eval_held_out", "eval_ood"]
ARITHMETIC_VARIANTS = ["base", "lora"]
# Between an arithmetic prompt and its answer, in training and in the cross evaluation.
ARITHMETIC_SEPARATOR = " "
TARGETS["arithmetic"] = [f"{ARITHMETIC}/metrics.json", f"{ARITHMETIC}/error_by_target.png"]


def arithmetic_generation_inputs(wildcards):
    inputs = {
        "model": BASE_MODELS["arithmetic"],
        "prompts": [f"{ARITHMETIC}/data/{name}.jsonl" for name in ARITHMETIC_EVAL_SETS],
    }
    if wildcards.variant == "lora":
        inputs["adapter"] = f"{ARITHMETIC}/adapter"
    return inputs


# Made here unless an earlier run of the study makes the same.
if ARITHMETIC_MADE_HERE:

    include: "arithmetic/data.smk"
    include: "arithmetic/train.smk"
    include: "arithmetic/evaluate.smk"
