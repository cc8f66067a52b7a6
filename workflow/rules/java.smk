# Seed 003, part 2: Java code generation. Stage 1 fine-tunes the base model on Java
# snippets (autoregressive); stage 2 instruction-tunes stage 1 on comment-to-code pairs,
# once per configured run.

from lmtune import recipe

JAVA, JAVA_MADE_HERE = experiment_results("java")
# Stage 1 (the corpus and its tokens, the stage-1 model, the held-out LM evaluations) is
# not made of stage 2's settings: a branch that changes only those reads stage 1 from the
# first run that makes it. Its rules write in JAVA; what reads stage 1 reads JAVA_STAGE1.
JAVA_STAGE1, _ = experiment_results("java", leave_out=("instructions", "instruct_runs", "generation", "sandbox"))
JAVA_TEST_SPLITS = ["test", "test_unseen_words"]
JAVA_LM_VARIANTS = ["base", "stage1"]
TARGETS["java"] = [f"{JAVA}/metrics.json", f"{JAVA}/pass_at_k.json", f"{JAVA}/examples.md", f"{JAVA}/accuracy.png"]


def java_corpus_files(wildcards):
    """The corpus sources that are files or folders (not the 'jdk' keyword)."""
    return [source for source in config["java"]["corpus"]["sources"] if source != "jdk"]


def java_variants():
    return ["base", "stage1", *(f"stage2_{run}" for run in config["java"]["instruct_runs"])]


def java_sampling(drawn):
    """The sampling settings (java.generation); with `drawn`, the seed of the draws too,
    where there are draws (temperature above 0): greedy code does not depend on it."""
    generation = config["java"]["generation"]
    settings = {name: generation[name] for name in ("samples", "temperature", "top_p")}
    if drawn and generation["temperature"] > 0:
        settings["seed"] = config["seed"]
    return settings


def java_model(variant):
    if variant == "base":
        return BASE_MODELS["java"]
    if variant == "stage1":
        return f"{JAVA_STAGE1}/stage1/model"
    return f"{JAVA}/stage2/{variant.removeprefix('stage2_')}/model"


def java_cross_matrix(matrix):
    """Stage 1 and each stage-2 model, and the held-out snippets, on which
    evaluate_java_lm already evaluates the base model and stage 1."""
    for variant in java_variants()[1:]:
        matrix.add_model(f"java_{variant}", "java", java_model(variant))
    evaluation = config["java"]["evaluation"]
    matrix.add_set(
        "java_held_out",
        {"kind": "snippets", "path": f"{JAVA_STAGE1}/corpus/test.jsonl", **evaluation},
    )
    for variant in JAVA_LM_VARIANTS:
        model_id = matrix.base_id("java") if variant == "base" else f"java_{variant}"
        matrix.shared_evaluation(model_id, "java_held_out", f"{JAVA_STAGE1}/heldout_lm/{variant}.json")


CROSS_MATRIX["java"] = java_cross_matrix


# Made here unless an earlier run of the study makes the same.
if JAVA_MADE_HERE:

    include: "java/data.smk"
    include: "java/train.smk"
    include: "java/evaluate.smk"
