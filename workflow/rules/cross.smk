# The cross-experiment matrix: each final model on each experiment's held-out set. A pair
# that evaluate_continual_model or evaluate_java_lm already computes is read from its file.


from lmtune.pipeline.identity import job_identity
from lmtune.pipeline.sharing import claim

CROSS = f"{RESULTS}/cross"


def cross_models():
    """model id -> {"model": folder, "adapter": folder or None, "base": base id,
    "evaluations": {set name: file}, "benchmarks": {task: file}}, where `evaluations`
    names the sets another rule already evaluates that model on (evaluate_continual_model,
    evaluate_java_lm: the same blocks and batch size), and `benchmarks` the benchmark
    tasks (benchmark_continual_model), so that the matrix reads them rather than computing
    them again."""
    base_ids = {}
    for experiment in CROSS_EXPERIMENTS:
        base_ids.setdefault(BASE_MODELS[experiment], "base" if not base_ids else f"base_{experiment}")
    models = {
        base_id: {"model": folder, "adapter": None, "base": base_id, "evaluations": {}, "benchmarks": {}}
        for folder, base_id in base_ids.items()
    }

    def add(model_id, experiment, folder, adapter=None):
        models[model_id] = {
            "model": folder,
            "adapter": adapter,
            "base": base_ids[BASE_MODELS[experiment]],
            "evaluations": {},
            "benchmarks": {},
        }

    if "continual" in EXPERIMENTS:
        strategy, seed = next(iter(config["continual"]["strategies"])), config["continual"]["seeds"][0]
        for phase in continual_order():
            add(f"continual_{strategy}_seed{seed}_{phase}", "continual", phase_model(strategy, seed, phase))
        for domain in continual_order():
            base = models[base_ids[BASE_MODELS["continual"]]]
            base["evaluations"][f"continual_{domain}"] = f"{base_model_dir()}/eval/{domain}.json"
            for phase in continual_order():
                evaluations = models[f"continual_{strategy}_seed{seed}_{phase}"]["evaluations"]
                evaluations[f"continual_{domain}"] = f"{phase_dir(strategy, seed, phase)}/eval/{domain}.json"
        continual_base = models[base_ids[BASE_MODELS["continual"]]]
        for task in BENCHMARK_TASKS:
            continual_base["benchmarks"][task] = f"{base_model_dir()}/benchmarks/{task}.json"
            for phase in continual_order():
                benchmarks = models[f"continual_{strategy}_seed{seed}_{phase}"]["benchmarks"]
                benchmarks[task] = f"{phase_dir(strategy, seed, phase)}/benchmarks/{task}.json"
    if "arithmetic" in EXPERIMENTS:
        add("arithmetic_lora", "arithmetic", BASE_MODELS["arithmetic"], adapter=f"{ARITHMETIC}/adapter")
    if "java" in EXPERIMENTS:
        for variant in java_variants()[1:]:
            add(f"java_{variant}", "java", java_model(variant))
        for variant in JAVA_LM_VARIANTS:
            model_id = base_ids[BASE_MODELS["java"]] if variant == "base" else f"java_{variant}"
            models[model_id]["evaluations"]["java_held_out"] = f"{JAVA_STAGE1}/heldout_lm/{variant}.json"
    return models


def cross_sets():
    """set name -> how to read and tokenize it (lmtune.cross.load_evaluation_set)."""
    sets = {}
    if "continual" in EXPERIMENTS:
        block = config["continual"]["evaluation"]["block_size"]
        for domain in continual_order():
            sets[f"continual_{domain}"] = {
                "kind": "split",
                "path": f"{continual_data(domain)}/data/{domain}/split.json",
                "block_size": block,
                "max_tokens": config["continual"]["split"].get("max_test_tokens"),
            }
    if "arithmetic" in EXPERIMENTS:
        sets["arithmetic_held_out"] = {
            "kind": "instructions",
            "path": f"{ARITHMETIC_DATA}/data/eval_held_out.jsonl",
            "separator": ARITHMETIC_SEPARATOR,
        }
    if "java" in EXPERIMENTS:
        block = config["java"]["evaluation"]["block_size"]
        sets["java_held_out"] = {"kind": "snippets", "path": f"{JAVA_STAGE1}/corpus/test.jsonl", "block_size": block}
    return sets


def cross_sets_to_evaluate(model_id):
    """The sets that cross_evaluate computes for a model, those no other rule evaluates."""
    shared = CROSS_MODELS[model_id]["evaluations"]
    return {name: spec for name, spec in CROSS_SETS.items() if name not in shared}


def cross_inputs_of(model_id):
    """The model (with its adapter, where it has one), as the cross jobs load it."""
    spec = CROSS_MODELS[model_id]
    return {"model": spec["model"], **({"adapter": spec["adapter"]} if spec["adapter"] else {})}


def cross_inputs(wildcards):
    sets = cross_sets_to_evaluate(wildcards.model_id).values()
    return {**cross_inputs_of(wildcards.model_id), "sets": [spec["path"] for spec in sets]}


def cross_quantize_4bit(model_id):
    # The arithmetic adapter was trained on a 4-bit base where the config says so.
    return bool(CROSS_MODELS[model_id]["adapter"]) and config["arithmetic"]["lora"]["quantize_4bit"]


def cross_computed_models():
    """The models with a cross evaluation of their own (cross_evaluate)."""
    return [model_id for model_id in CROSS_MODELS if cross_sets_to_evaluate(model_id)]


def claim_cross_file(rule, own, model_id, settings):
    """This run's file of a cross job, or an earlier run's of the study that runs the same
    job: the same rule on the same model and input files (every folder read is already its
    first maker's, lmtune.pipeline.sharing) with the same settings (its rule's params)."""
    identity = job_identity(rule, {"model_id": model_id, **settings}, cross_inputs_of(model_id))
    return claim(identity, own)


def claim_cross_files():
    """model id -> its cross evaluation file; (model id, task) -> its benchmark file."""
    evaluations = {
        model_id: claim_cross_file(
            "cross_evaluate",
            f"{CROSS}/{model_id}.json",
            model_id,
            {
                "sets": cross_sets_to_evaluate(model_id),
                "quantize_4bit": cross_quantize_4bit(model_id),
                "batch_size": CROSS_BATCH_SIZE,
                "compute": COMPUTE,
            },
        )
        for model_id in cross_computed_models()
    }
    benchmarks = {
        (model_id, task): spec["benchmarks"].get(task)
        or claim_cross_file(
            "cross_benchmark",
            f"{CROSS}/benchmarks/{model_id}/{task}.json",
            model_id,
            {
                "task": BENCHMARK_TASKS[task].to_dict(),
                "quantize_4bit": cross_quantize_4bit(model_id),
                "batch_size": config["benchmarks"]["batch_size"],
                "compute": COMPUTE,
            },
        )
        for model_id, spec in CROSS_MODELS.items()
        for task in BENCHMARK_TASKS
    }
    return evaluations, benchmarks


def cross_matrix_inputs(wildcards):
    """Each model's own cross evaluation, and the evaluations it shares with other rules."""
    return {
        "computed": [CROSS_EVALUATION_FILES[model_id] for model_id in cross_computed_models()],
        "shared": [path for spec in CROSS_MODELS.values() for path in spec["evaluations"].values()],
    }


def cross_benchmark_file(model_id, task):
    """A model's figures on a benchmark task: the continual rule's, or a cross job's."""
    return CROSS_BENCHMARK_FILES[model_id, task]


def cross_benchmark_inputs(wildcards):
    return {**cross_inputs_of(wildcards.model_id), "task_files": BENCHMARK_TASKS[wildcards.task].files()}


CROSS_MODELS = cross_models()
CROSS_SETS = cross_sets()
# Blocks (and prompts) per forward pass of a cross evaluation.
CROSS_BATCH_SIZE = 8
# Claimed as the workflow loads (lmtune.pipeline.sharing).
CROSS_EVALUATION_FILES, CROSS_BENCHMARK_FILES = claim_cross_files()
# The tables of the matrix: made of their rules' inputs (each file already the first
# maker's) and params, as their rules (cross/) declare them.
CROSS_TABLES = claim(
    job_identity(
        "cross tables",
        {"models": CROSS_MODELS, "computed": cross_computed_models(), "sets": list(CROSS_SETS)},
        {
            "computed": CROSS_EVALUATION_FILES,
            "benchmarks": {"/".join(key): path for key, path in CROSS_BENCHMARK_FILES.items()},
        },
    ),
    CROSS,
)
TARGETS["cross"] = [
    f"{CROSS_TABLES}/matrix.csv",
    f"{CROSS_TABLES}/matrix.png",
    *([f"{CROSS_TABLES}/benchmarks.csv"] if BENCHMARK_TASKS else []),
]


include: "cross/matrix.smk"


# Every final model on the benchmark tasks (benchmarks.tasks), where any are set.
if BENCHMARK_TASKS:

    include: "cross/benchmarks.smk"
