# Seed 003, part 1: LoRA (optionally QLoRA) on sums written in Spanish number words.

from lmtune import recipe

ARITHMETIC, ARITHMETIC_MADE_HERE = experiment_results("arithmetic")
# The generated data is made of arithmetic.data alone: a branch that changes the adapter,
# its training or the generation reads it from the first run that makes it. Its rule
# writes in ARITHMETIC; what reads the data reads ARITHMETIC_DATA.
ARITHMETIC_DATA, _ = experiment_results(
    "arithmetic", leave_out=("base_model", "lora", "training", "generation", "evaluation")
)
ARITHMETIC_EVAL_SETS = ["eval_seen", "eval_held_out", "eval_ood"]
ARITHMETIC_VARIANTS = ["base", "lora"]
# Between an arithmetic prompt and its answer, in training and in the cross evaluation.
ARITHMETIC_SEPARATOR = " "
TARGETS["arithmetic"] = [f"{ARITHMETIC}/metrics.json", f"{ARITHMETIC}/error_by_target.png"]


def arithmetic_generation_inputs(wildcards):
    inputs = {
        "model": BASE_MODELS["arithmetic"],
        "prompts": [f"{ARITHMETIC_DATA}/data/{name}.jsonl" for name in ARITHMETIC_EVAL_SETS],
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
        {
            "kind": "instructions",
            "path": f"{ARITHMETIC_DATA}/data/eval_held_out.jsonl",
            "separator": ARITHMETIC_SEPARATOR,
            "batch_size": config["arithmetic"]["evaluation"]["batch_size"],
        },
    )


CROSS_MATRIX["arithmetic"] = arithmetic_cross_matrix


# Made here unless an earlier run of the study makes the same.
if ARITHMETIC_MADE_HERE:

    include: "arithmetic/data.smk"
    include: "arithmetic/train.smk"
    include: "arithmetic/evaluate.smk"
