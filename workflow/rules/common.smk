# Config validation, paths and input functions shared by the rules.

import yaml
from snakemake.utils import validate

from lmtune.config import EXPERIMENTS as ALL_EXPERIMENTS, check_config, check_schema, coerce_to_schema, experiments
from lmtune.core.models import MATERIALISED_MODELS_DIR, parse_source
from lmtune import recipe


# Checked when the workflow loads, before any job: a bad setting stops it here with one
# line naming the key, the value and what was expected.
with open(Path(workflow.basedir) / "workflow/schemas/config.schema.yaml") as schema_file:
    CONFIG_SCHEMA = yaml.safe_load(schema_file)
# `--configfile FILE target` reads the target as a second config file.
for configfile_path in map(Path, workflow.overwrite_configfiles):
    if configfile_path.resolve().is_relative_to(Path("results").resolve()) or configfile_path.suffix not in (".yaml", ".yml", ".json"):
        raise ValueError(
            f"--configfile took {configfile_path} as a config file: put targets before --configfile, "
            "or write --configfile=FILE"
        )
coerce_to_schema(config, CONFIG_SCHEMA)  # --config values arrive as strings
check_schema(config, CONFIG_SCHEMA)
validate(config, "../schemas/config.schema.yaml")  # fills in the schema's defaults
check_config(config)

EXPERIMENTS = experiments(config)
CONTINUAL = "results/continual"
ARITHMETIC = "results/arithmetic"
ARITHMETIC_EVAL_SETS = ["eval_seen", "eval_held_out", "eval_ood"]
ARITHMETIC_VARIANTS = ["base", "lora"]
# Between an arithmetic prompt and its answer, in training and in the cross evaluation.
ARITHMETIC_SEPARATOR = " "
JAVA = "results/java"
JAVA_TEST_SPLITS = ["test", "test_unseen_words"]
JAVA_LM_VARIANTS = ["base", "stage1"]
# What of the compute settings decides a job's result (its params): not its threads,
# nor where it runs.
COMPUTE = {key: config["compute"][key] for key in ("device", "precision")}
ENV = "../../envs/lmtune.yaml"


def job_gpus(kind):
    """GPUs a heavy job takes: none on a CPU; on cuda one, and a training job one per
    data-parallel process."""
    if config["compute"]["device"] != "cuda":
        return 0
    return config["compute"]["processes"] if kind == "training" else 1


def job_threads(kind):
    """On cuda, `resources.<kind>.cpus_per_gpu` per GPU; on a CPU a training job takes
    compute.training_threads (all cores: one training at a time), the others one."""
    gpus = job_gpus(kind)
    if gpus:
        return config["resources"][kind]["cpus_per_gpu"] * gpus
    if kind != "training":
        return 1
    threads = config["compute"]["training_threads"]
    return workflow.cores if threads == "all" else min(threads, workflow.cores)


def job_resources(kind):
    """What a heavy job asks a scheduler for, from the config's `resources`: memory grows
    with the attempt (a retry after running out asks for more)."""
    settings, gpus = config["resources"][kind], job_gpus(kind)
    return {
        "gpu": gpus,
        **({"cpus_per_gpu": settings["cpus_per_gpu"]} if gpus else {}),
        "mem_mb": lambda wildcards, attempt: settings["mem_mb"] * attempt,
        "runtime": settings["runtime"],
    }


# Each experiment starts from the top-level base_model unless its section names its own
# (the seeds used distilgpt2, Mistral-7B and GPT-2). A local folder is used in place;
# any other source is materialised once under resources/models/<name>.
MATERIALISED_MODELS = {}


def _model_folder(spec):
    source = parse_source(spec["source"])
    if source.kind == "folder":
        return source.location
    MATERIALISED_MODELS[source.slug] = spec
    return f"{MATERIALISED_MODELS_DIR}/{source.slug}"


BASE_MODELS = {
    name: _model_folder(config[name].get("base_model", config["base_model"]))
    for name in EXPERIMENTS
}


wildcard_constraints:
    model="|".join(MATERIALISED_MODELS) or "(?!)",
    domain="[A-Za-z0-9]+",
    phase="[A-Za-z0-9]+",
    strategy="[A-Za-z0-9_]+",
    seed="[0-9]+",
    model_dir="base|[A-Za-z0-9_]+/seed[0-9]+/[A-Za-z0-9]+",
    split="train|test",
    block_size="[0-9]+",
    variant="[A-Za-z0-9_]+",
    run="[A-Za-z0-9]+",
    model_id="[A-Za-z0-9_]+",


# Continual pre-training: one run per strategy and seed. A run's phase lives in
# results/continual/<strategy>/seed<seed>/<phase>/ (model, training loss, evaluations);
# the base model's evaluations in results/continual/base/eval/. What each phase trains
# with is lmtune.recipe's to say: the rules never name a strategy.
def continual_order():
    return config["continual"]["order"]


def continual_runs():
    return [(strategy, seed) for strategy in config["continual"]["strategies"] for seed in config["continual"]["seeds"]]


def check_seed(seed):
    seeds = config["continual"]["seeds"]
    if int(seed) not in seeds:
        raise ValueError(f"continual seed {seed} is not configured: continual.seeds is {seeds}")


def phase_dir(strategy, seed, phase):
    # A phase that trains exactly as the sequential strategy's (and every phase before it
    # too) is that one, trained once and shared.
    check_seed(seed)
    return f"{CONTINUAL}/{recipe.phase_owner(config, strategy, int(seed), phase)}/seed{seed}/{phase}"


def phase_spec(wildcards):
    check_seed(wildcards.seed)
    return recipe.continual_phase(config, wildcards.strategy, int(wildcards.seed), wildcards.phase).to_dict()


def train_tokens(domain, block_size):
    return f"{CONTINUAL}/tokens/{domain}/train_block{block_size}"


def phase_inputs(wildcards):
    """The model the phase starts from, its domain's blocks, and the earlier domains'
    blocks its strategy reads (replay mixes them in, EWC takes its Fisher from them)."""
    strategy, seed, phase = wildcards.strategy, wildcards.seed, wildcards.phase
    check_seed(seed)
    order = continual_order()
    earlier = order[: order.index(phase)]
    block_size = config["continual"]["phases"][phase]["block_size"]
    return {
        "model": f"{phase_dir(strategy, seed, earlier[-1])}/model" if earlier else BASE_MODELS["continual"],
        "tokens": train_tokens(phase, block_size),
        "earlier_tokens": [
            train_tokens(domain, block_size) for domain in recipe.earlier_domains(config, strategy, phase)
        ],
    }


def continual_model(wildcards):
    if wildcards.model_dir == "base":
        return BASE_MODELS["continual"]
    return f"{CONTINUAL}/{wildcards.model_dir}/model"


def eval_tokens(wildcards):
    """Every domain's test blocks, in `continual.order`: a model is loaded once and
    evaluated on each."""
    block = config["continual"]["evaluation"]["block_size"]
    return [f"{CONTINUAL}/tokens/{domain}/test_block{block}" for domain in continual_order()]


def domain_corpus(wildcards):
    return config["continual"]["domains"][wildcards.domain]["corpus"]


def run_evaluations(wildcards):
    """Every evaluation of a run, keyed as the seed named them: base_A, after_A_B, ..."""
    strategy, seed = wildcards.strategy, wildcards.seed
    evaluations = {}
    for domain in continual_order():
        evaluations[f"base_{domain}"] = f"{CONTINUAL}/base/eval/{domain}.json"
        for phase in continual_order():
            evaluations[f"after_{phase}_{domain}"] = f"{phase_dir(strategy, seed, phase)}/eval/{domain}.json"
    return evaluations


def run_metrics():
    return [f"{CONTINUAL}/{strategy}/seed{seed}/metrics.json" for strategy, seed in continual_runs()]


def run_loss_logs():
    """((strategy, seed, phase), training loss file) of every phase of every run."""
    return [
        ((strategy, seed, phase), f"{phase_dir(strategy, seed, phase)}/train_loss.csv")
        for strategy, seed in continual_runs()
        for phase in continual_order()
    ]


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


# Instruction tuning on the user's own data: a LoRA adapter where the section has
# `lora` (exported merged into the base), else the fine-tuned model itself.
INSTRUCT = "results/instruct"
INSTRUCT_SPLITS = ["train", "validation"]


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


# The cross-experiment matrix: every experiment's final models (for continual, the first
# strategy's first seed) on every experiment's held-out set. The instruct experiment's
# data is the user's, not a benchmark of the project: it stays out of the matrix.
CROSS = "results/cross"
CROSS_EXPERIMENTS = [name for name in EXPERIMENTS if name != "instruct"]


def cross_models():
    """model id -> {"model": folder, "adapter": folder or None, "base": base id,
    "evaluations": {set name: file}}, where `evaluations` names the sets another rule
    already evaluates that model on (evaluate_continual_model, evaluate_java_lm: the same blocks and
    batch size), so that the matrix reads them rather than computing them again."""
    base_ids = {}
    for experiment in CROSS_EXPERIMENTS:
        base_ids.setdefault(BASE_MODELS[experiment], "base" if not base_ids else f"base_{experiment}")
    models = {
        base_id: {"model": folder, "adapter": None, "base": base_id, "evaluations": {}}
        for folder, base_id in base_ids.items()
    }

    def add(model_id, experiment, folder, adapter=None):
        models[model_id] = {"model": folder, "adapter": adapter, "base": base_ids[BASE_MODELS[experiment]], "evaluations": {}}

    if "continual" in EXPERIMENTS:
        strategy, seed = next(iter(config["continual"]["strategies"])), config["continual"]["seeds"][0]
        for phase in continual_order():
            add(f"continual_{strategy}_seed{seed}_{phase}", "continual", f"{phase_dir(strategy, seed, phase)}/model")
        for domain in continual_order():
            base = models[base_ids[BASE_MODELS["continual"]]]
            base["evaluations"][f"continual_{domain}"] = f"{CONTINUAL}/base/eval/{domain}.json"
            for phase in continual_order():
                evaluations = models[f"continual_{strategy}_seed{seed}_{phase}"]["evaluations"]
                evaluations[f"continual_{domain}"] = f"{phase_dir(strategy, seed, phase)}/eval/{domain}.json"
    if "arithmetic" in EXPERIMENTS:
        add("arithmetic_lora", "arithmetic", BASE_MODELS["arithmetic"], adapter=f"{ARITHMETIC}/adapter")
    if "java" in EXPERIMENTS:
        for variant in java_variants()[1:]:
            add(f"java_{variant}", "java", java_model(variant))
        for variant in JAVA_LM_VARIANTS:
            model_id = base_ids[BASE_MODELS["java"]] if variant == "base" else f"java_{variant}"
            models[model_id]["evaluations"]["java_held_out"] = f"{JAVA}/heldout_lm/{variant}.json"
    return models


def cross_sets():
    """set name -> how to read and tokenize it (lmtune.cross.load_evaluation_set)."""
    sets = {}
    if "continual" in EXPERIMENTS:
        block = config["continual"]["evaluation"]["block_size"]
        for domain in continual_order():
            sets[f"continual_{domain}"] = {"kind": "text", "path": f"{CONTINUAL}/data/{domain}/test.txt", "block_size": block}
    if "arithmetic" in EXPERIMENTS:
        sets["arithmetic_held_out"] = {"kind": "instructions", "path": f"{ARITHMETIC}/data/eval_held_out.jsonl", "separator": ARITHMETIC_SEPARATOR}
    if "java" in EXPERIMENTS:
        block = config["java"]["evaluation"]["block_size"]
        sets["java_held_out"] = {"kind": "snippets", "path": f"{JAVA}/corpus/test.jsonl", "block_size": block}
    return sets


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


def all_targets():
    """The final outputs of every experiment the config has a section for."""
    targets = {
        "continual": [
            f"{CONTINUAL}/summary.json",
            *(f"{CONTINUAL}/{name}.png" for name in ["loss_matrix", "forgetting_vs_learning", "perplexity", "train_loss"]),
        ],
        "arithmetic": [f"{ARITHMETIC}/metrics.json", f"{ARITHMETIC}/error_by_target.png"],
        "java": [f"{JAVA}/metrics.json", f"{JAVA}/examples.md", f"{JAVA}/accuracy.png"],
        "instruct": [f"{INSTRUCT}/metrics.json", f"{INSTRUCT}/export"],
    }
    cross = [f"{CROSS}/matrix.csv", f"{CROSS}/matrix.png"] if len(CROSS_EXPERIMENTS) > 1 else []
    return [path for name in EXPERIMENTS for path in targets[name]] + cross


# Experiments whose results this config does not produce (see rule unplanned_target).
UNPLANNED = [
    name
    for name in (*ALL_EXPERIMENTS, "cross")
    if name not in EXPERIMENTS and (name != "cross" or len(CROSS_EXPERIMENTS) < 2)
]


def unplanned_experiment(wildcards):
    name = wildcards.experiment
    reason = (
        "the cross-experiment matrix needs two experiments or more besides instruct"
        if name == "cross"
        else f"the config has no {name} section" if name not in config else f"experiments is {EXPERIMENTS}"
    )
    raise ValueError(f"results/{name}/{wildcards.path}: experiment {name!r} is not run by this config ({reason})")

