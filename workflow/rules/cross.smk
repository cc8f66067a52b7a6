# The cross-experiment matrix: each final model on each experiment's held-out set, as the
# experiments' rules files add them (CROSS_MATRIX). A pair that another rule already
# evaluates is read from its file.

from lmtune.cross import MatrixPlan

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


def cross_inputs(wildcards):
    spec = CROSS_MODELS[wildcards.model_id]
    inputs = {"model": spec["model"], "sets": [s["path"] for s in cross_sets_to_evaluate(wildcards.model_id).values()]}
    if spec["adapter"]:
        inputs["adapter"] = spec["adapter"]
    return inputs


def cross_computed_models():
    """The models with a cross evaluation of their own (cross_evaluate)."""
    return [model_id for model_id in CROSS_MODELS if cross_sets_to_evaluate(model_id)]


def cross_matrix_inputs(wildcards):
    """Each model's own cross evaluation, and the evaluations it shares with other rules."""
    return {
        "computed": [f"{CROSS}/{model_id}.json" for model_id in cross_computed_models()],
        "shared": [path for spec in CROSS_MODELS.values() for path in spec["evaluations"].values()],
    }


def cross_benchmark_file(model_id, task):
    """A model's figures on a benchmark task: the continual rule's, or its own job's."""
    shared = CROSS_MODELS[model_id]["benchmarks"]
    return shared.get(task, f"{CROSS}/benchmarks/{model_id}/{task}.json")


def cross_benchmark_inputs(wildcards):
    spec = CROSS_MODELS[wildcards.model_id]
    inputs = {"model": spec["model"], "task_files": BENCHMARK_TASKS[wildcards.task].files()}
    if spec["adapter"]:
        inputs["adapter"] = spec["adapter"]
    return inputs


CROSS_PLAN = cross_matrix_plan()
CROSS_MODELS = CROSS_PLAN.models
CROSS_SETS = CROSS_PLAN.sets
TARGETS["cross"] = [
    f"{CROSS}/matrix.csv",
    f"{CROSS}/matrix.png",
    *([f"{CROSS}/benchmarks.csv"] if BENCHMARK_TASKS else []),
]


include: "cross/matrix.smk"


# Every final model on the benchmark tasks (benchmarks.tasks), where any are set.
if BENCHMARK_TASKS:

    include: "cross/benchmarks.smk"
