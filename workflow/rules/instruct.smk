# Instruction tuning on the user's own data (prompt/completion or chat records, read by
# lmtune.instruct.data): split, tokenize with the loss on the answers, train (LoRA or full,
# through lmtune.recipe.instruct), evaluate loss and perplexity on the validation split,
# generate answers to its prompts, score them, and export a plain transformers folder.

from lmtune import recipe

INSTRUCT, INSTRUCT_MADE_HERE = experiment_results("instruct")
INSTRUCT_SPLITS = ["train", "validation"]
TARGETS["instruct"] = [f"{INSTRUCT}/metrics.json", f"{INSTRUCT}/export"]


def instruct_lora():
    return config["instruct"].get("lora")  # absent: full fine-tuning


def instruct_trained():
    """What the instruct training writes: the adapter, or the whole model."""
    return f"{INSTRUCT}/adapter" if instruct_lora() else f"{INSTRUCT}/model"


def instruct_model_inputs(wildcards):
    """The fine-tuned model as evaluation, generation and export load it."""
    if instruct_lora():
        return {"model": BASE_MODELS["instruct"], "adapter": instruct_trained()}
    return {"model": instruct_trained()}


def instruct_data_files():
    """The user's data files (a validation file where the config names one)."""
    data = config["instruct"]["data"]
    return {part: data[part] for part in INSTRUCT_SPLITS if part in data}


def instruct_split_settings():
    """How the validation split is drawn from the training file; None where a
    validation file is given (the settings then decide nothing, and rerun nothing)."""
    data = config["instruct"]["data"]
    return None if "validation" in data else {"validation_fraction": data["validation_fraction"], "seed": data["seed"]}


# Made here unless an earlier run of the study makes the same.
if INSTRUCT_MADE_HERE:

    include: "instruct/data.smk"
    include: "instruct/train.smk"
    include: "instruct/evaluate.smk"
    include: "instruct/export.smk"
