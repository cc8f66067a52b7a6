# The cross-experiment matrix: each final model on each experiment's held-out set, as the
# experiments' rules files add them (CROSS_MATRIX). A pair that another rule already
# evaluates is read from its file. In a study, a cross job or table that an earlier run
# makes from the same inputs and settings is read from there (lmtune.pipeline.sharing).

from lmtune.cross import MatrixPlan
from lmtune.pipeline.identity import job_identity
from lmtune.pipeline.sharing import claim

CROSS = f"{RESULTS}/cross"


def cross_matrix_plan():
    """Each experiment's final models and held-out sets, as its rules file adds them
    (CROSS_MATRIX), in the experiments' order (lmtune.cross.MatrixPlan)."""
    plan = MatrixPlan({name: BASE_MODELS[name] for name in CROSS_EXPERIMENTS})
    for name in CROSS_EXPERIMENTS:
        if name not in CROSS_MATRIX:
            raise ValueError(
                f"experiment {name!r} is in the cross matrix, but its rules file adds nothing to CROSS_MATRIX"
            )
        CROSS_MATRIX[name](plan)
    return plan


def cross_sets_to_evaluate(model_id):
    """The sets that cross_evaluate computes for a model, those no other rule evaluates."""
    shared = CROSS_MODELS[model_id]["evaluations"]
    return {name: spec for name, spec in CROSS_SETS.items() if name not in shared}


def cross_quantize_4bit(model_id):
    # An adapter trained on a 4-bit base is loaded on one.
    return model_id in CROSS_PLAN.quantized


def cross_model_inputs(model_id):
    """The model (with its adapter, where it has one), as the cross jobs load it."""
    spec = CROSS_MODELS[model_id]
    return {"model": spec["model"], **({"adapter": spec["adapter"]} if spec["adapter"] else {})}


def cross_inputs(wildcards):
    sets = cross_sets_to_evaluate(wildcards.model_id).values()
    return {**cross_model_inputs(wildcards.model_id), "sets": [spec["path"] for spec in sets]}


def cross_benchmark_inputs(wildcards):
    return {**cross_model_inputs(wildcards.model_id), "task_files": BENCHMARK_TASKS[wildcards.task].files()}


def cross_computed_models():
    """The models with a cross evaluation of their own (cross_evaluate)."""
    return [model_id for model_id in CROSS_MODELS if cross_sets_to_evaluate(model_id)]


def claim_cross_file(rule, own, model_id, settings):
    """This run's file of a cross job, or an earlier run's of the study that runs the same
    job: the same rule on the same model and input files (every folder read is already its
    first maker's) with the same settings (its rule's params)."""
    return claim(job_identity(rule, {"model_id": model_id, **settings}, cross_model_inputs(model_id)), own)


def cross_evaluation_settings(model_id):
    """What cross_evaluate reads for a model besides its inputs: its rule's params."""
    return {
        "sets": cross_sets_to_evaluate(model_id),
        "quantize_4bit": cross_quantize_4bit(model_id),
        "compute": COMPUTE,
    }


def cross_benchmark_settings(model_id, task):
    """What cross_benchmark reads for a model and task besides its inputs: its rule's params."""
    return {
        "task": BENCHMARK_TASKS[task].to_dict(),
        "quantize_4bit": cross_quantize_4bit(model_id),
        "batch_size": config["benchmarks"]["batch_size"],
        "compute": COMPUTE,
    }


def claim_cross_files():
    """model id -> its cross evaluation file; (model id, task) -> its benchmark file."""
    evaluations = {
        model_id: claim_cross_file(
            "cross_evaluate", f"{CROSS}/{model_id}.json", model_id, cross_evaluation_settings(model_id)
        )
        for model_id in cross_computed_models()
    }
    benchmarks = {
        (model_id, task): spec["benchmarks"].get(task)
        or claim_cross_file(
            "cross_benchmark",
            f"{CROSS}/benchmarks/{model_id}/{task}.json",
            model_id,
            cross_benchmark_settings(model_id, task),
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


CROSS_PLAN = cross_matrix_plan()
CROSS_MODELS = CROSS_PLAN.models
CROSS_SETS = CROSS_PLAN.sets
# Claimed as the workflow loads.
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
