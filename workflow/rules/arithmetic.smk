# Seed 003, part 1: LoRA (optionally QLoRA) on sums written in Spanish number words.

from lmtune import recipe

ARITHMETIC = f"{RESULTS}/arithmetic"
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


def arithmetic_cross_matrix(matrix):
    """The LoRA model (on a 4-bit base where it trained on one), and the held-out prompts,
    scored on their reference answers."""
    adapter, quantize_4bit = f"{ARITHMETIC}/adapter", config["arithmetic"]["lora"]["quantize_4bit"]
    matrix.add_model("arithmetic_lora", "arithmetic", BASE_MODELS["arithmetic"], adapter, quantize_4bit)
    matrix.add_set(
        "arithmetic_held_out",
        {"kind": "instructions", "path": f"{ARITHMETIC}/data/eval_held_out.jsonl", "separator": ARITHMETIC_SEPARATOR},
    )


CROSS_MATRIX["arithmetic"] = arithmetic_cross_matrix


include: "arithmetic/data.smk"
include: "arithmetic/train.smk"
include: "arithmetic/evaluate.smk"
