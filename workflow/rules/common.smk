# Config validation, paths and input functions shared by the rules.

import hashlib
import os

from snakemake.logging import logger
from snakemake.utils import validate

from lmtune.config import (
    EXPERIMENTS as ALL_EXPERIMENTS,
    check_config,
    check_results_folder,
    check_schema,
    coerce_to_schema,
    experiments,
    load_schema,
)
from lmtune.core.fingerprint import library_codes
from lmtune.core.sources import CorpusSpec, corpus_files
from lmtune.core.models import MATERIALISED_MODELS_DIR, parse_source
from lmtune import recipe
from lmtune.study.record import RUN_RECORD
from lmtune.study.headline import HEADLINES
from lmtune.study.sharing import (
    register_branch,
    shared_base_model_dir,
    shared_data_dir,
    shared_interpolation_dir,
    shared_phase_dir,
)
from lmtune.study.sweeps import (
    BASE_ID,
    NOT_RUN_SETTINGS,
    SweepError,
    distinct_branches,
    expand_sweep,
    overlay,
    read_sweep_sheet,
    resolved_config,
    setting_value,
)
from lmtune.study.tracking import tracking_for_jobs

# Checked when the workflow loads, before any job: a bad setting stops it here with one
# line naming the key, the value and what was expected.
CONFIG_SCHEMA = load_schema(Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")
RESULTS_SETTING = config.get("results", CONFIG_SCHEMA["properties"]["results"]["default"])
if isinstance(RESULTS_SETTING, str):  # else the schema names it below
    check_results_folder(RESULTS_SETTING, Path("."), Path(workflow.basedir))
# `--configfile FILE target` reads the target as a second config file.
for configfile_path in map(Path, workflow.overwrite_configfiles):
    in_results = configfile_path.resolve().is_relative_to(Path(RESULTS_SETTING).resolve())
    if in_results or configfile_path.suffix not in (".yaml", ".yml", ".json"):
        raise ValueError(
            f"--configfile took {configfile_path} as a config file: put targets before --configfile, "
            "or write --configfile=FILE"
        )
coerce_to_schema(config, CONFIG_SCHEMA)  # --config values arrive as strings
check_schema(config, CONFIG_SCHEMA)
# Fills in the schema's defaults. A study's branch (a module, study.smk) skips it here:
# branch_config fills its config's before the module loads.
validate(config, "../schemas/config.schema.yaml")
check_config(config)

EXPERIMENTS = experiments(config)
# Every output, log, benchmark and checkpoint lives under the config's results folder
# (`results`); only resources/ (materialised base models) is shared between folders.
RESULTS = config["results"]
LOGS = f"{RESULTS}/logs"
BENCHMARKS = f"{RESULTS}/benchmarks"
CONTINUAL = f"{RESULTS}/continual"
ARITHMETIC = f"{RESULTS}/arithmetic"
ARITHMETIC_EVAL_SETS = ["eval_seen", "eval_held_out", "eval_ood"]
ARITHMETIC_VARIANTS = ["base", "lora"]
# Between an arithmetic prompt and its answer, in training and in the cross evaluation.
ARITHMETIC_SEPARATOR = " "
JAVA = f"{RESULTS}/java"
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
    # Snakemake caps every job's threads at --cores itself, so "all" can ask for the
    # machine's cores: reading workflow.cores here would stop the commands that run no job
    # and take no core count (--report, --unlock, --summary) while the rules load.
    return os.cpu_count() if threads == "all" else threads


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


BASE_MODELS = {name: _model_folder(config[name].get("base_model", config["base_model"])) for name in EXPERIMENTS}


wildcard_constraints:
    model="|".join(MATERIALISED_MODELS) or "(?!)",
    domain="[A-Za-z0-9]+",
    phase="[A-Za-z0-9]+",
    strategy="[A-Za-z0-9_]+",
    seed="[0-9]+",
    model_dir="base|[A-Za-z0-9_]+/seed[0-9]+/[A-Za-z0-9]+|interpolation/[A-Za-z0-9_]+/seed[0-9]+/[A-Za-z0-9]+_to_[A-Za-z0-9]+/alpha[0-9.e-]+",
    split="train|test",
    block_size="[0-9]+",
    variant="[A-Za-z0-9_]+",
    run="[A-Za-z0-9]+",
    model_id="[A-Za-z0-9_]+",


# Continual pre-training: one run per strategy and seed. A run's phase lives in
# <results>/continual/<strategy>/seed<seed>/<phase>/ (model, training loss, evaluations);
# the base model's evaluations in <results>/continual/base/eval/. What each phase trains
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
    # too) is that one, trained once and shared; in a study branch, a phase made from
    # what the base run makes it from is the base's.
    check_seed(seed)
    shared = shared_phase_dir(RESULTS, config, strategy, int(seed), phase)
    return shared or f"{CONTINUAL}/{recipe.phase_owner(config, strategy, int(seed), phase)}/seed{seed}/{phase}"


def base_model_dir():
    """The base model's evaluations: the base run's in a study branch that evaluates as it does."""
    return shared_base_model_dir(RESULTS, config) or f"{CONTINUAL}/base"


def phase_spec(wildcards):
    check_seed(wildcards.seed)
    return recipe.continual_phase(config, wildcards.strategy, int(wildcards.seed), wildcards.phase).to_dict()


def continual_data(domain):
    """The folder of a domain's split (data/) and blocks (tokens/): the base run's in a
    study branch that splits and tokenizes the domain as it does."""
    return shared_data_dir(RESULTS, config, domain) or CONTINUAL


def train_tokens(domain):
    """A domain's training token store (its blocks are cut at the phase's size as it loads)."""
    return f"{continual_data(domain)}/tokens/{domain}/train"


def phase_inputs(wildcards):
    """The model the phase starts from, its domain's blocks, and the earlier domains'
    blocks its strategy reads (replay mixes them in, EWC takes its Fisher from them)."""
    strategy, seed, phase = wildcards.strategy, wildcards.seed, wildcards.phase
    check_seed(seed)
    order = continual_order()
    earlier = order[: order.index(phase)]
    return {
        "model": f"{phase_dir(strategy, seed, earlier[-1])}/model" if earlier else BASE_MODELS["continual"],
        "tokens": train_tokens(phase),
        "earlier_tokens": [train_tokens(domain) for domain in recipe.earlier_domains(config, strategy, phase)],
    }


def continual_model(wildcards):
    if wildcards.model_dir == "base":
        return BASE_MODELS["continual"]
    return f"{CONTINUAL}/{wildcards.model_dir}/model"


def eval_tokens(wildcards):
    """Every domain's test token store, in `continual.order`: a model is loaded once and
    evaluated on each."""
    return [f"{continual_data(domain)}/tokens/{domain}/test" for domain in continual_order()]


def domain_corpus(wildcards):
    """Every file of the domain's corpus (a glob or folder expanded, a datasets folder's
    files), so that a changed shard reruns its split; none for a hub dataset."""
    setting = config["continual"]["domains"][wildcards.domain]["corpus"]
    return [str(path) for path in corpus_files(CorpusSpec.from_setting(setting))]


def run_evaluations(wildcards):
    """Every evaluation of a run, keyed as the seed named them: base_A, after_A_B, ..."""
    strategy, seed = wildcards.strategy, wildcards.seed
    evaluations = {}
    for domain in continual_order():
        evaluations[f"base_{domain}"] = f"{base_model_dir()}/eval/{domain}.json"
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


# Weight interpolation (interpolation.smk): θ(α) between two models of one run, the
# interpolation strategy's first seed: from the model after the second-last phase, and
# from the base model, to the model after the last phase.
def interpolation_alphas():
    return config["continual"]["interpolation"]["alphas"] if "continual" in EXPERIMENTS else []


def interpolation_run():
    """(strategy, seed) of the run whose models are interpolated."""
    strategy = config["continual"]["interpolation"]["strategy"]
    recipe.strategy_settings(config, strategy)  # a strategy the config does not define is an error
    return strategy, config["continual"]["seeds"][0]


def interpolation_curves():
    """curve name -> (start, end): a phase's name or `base`."""
    order = continual_order()
    return {f"{start}_to_{order[-1]}": (start, order[-1]) for start in (order[-2], "base")}


def interpolation_dir(curve, alpha):
    strategy, seed = interpolation_run()
    shared = shared_interpolation_dir(RESULTS, config, strategy, seed, curve, interpolation_curves()[curve], alpha)
    return shared or f"{CONTINUAL}/interpolation/{strategy}/seed{seed}/{curve}/alpha{alpha:g}"


def interpolation_point_dir(point, strategy, seed):
    """Where a curve's end is: the base model's folder (evaluations), or the run's phase."""
    return base_model_dir() if point == "base" else phase_dir(strategy, seed, point)


def interpolation_inputs(wildcards):
    start, end = interpolation_curves()[wildcards.curve]
    return {
        name: (
            BASE_MODELS["continual"]
            if point == "base"
            else f"{interpolation_point_dir(point, wildcards.strategy, wildcards.seed)}/model"
        )
        for name, point in (("start", start), ("end", end))
    }


def frontier_evaluations():
    """curve -> [(α, {domain: evaluation file})], α = 0 and 1 being the two models' own
    evaluations (already computed), the alphas between them interpolated models'."""
    curves = {}
    for curve, (start, end) in interpolation_curves().items():
        points = [(0.0, interpolation_point_dir(start, *interpolation_run()))]
        points += [(alpha, interpolation_dir(curve, alpha)) for alpha in sorted(interpolation_alphas())]
        points += [(1.0, interpolation_point_dir(end, *interpolation_run()))]
        curves[curve] = [(alpha, {d: f"{folder}/eval/{d}.json" for d in continual_order()}) for alpha, folder in points]
    return curves


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
INSTRUCT = f"{RESULTS}/instruct"
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
CROSS = f"{RESULTS}/cross"
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
        models[model_id] = {
            "model": folder,
            "adapter": adapter,
            "base": base_ids[BASE_MODELS[experiment]],
            "evaluations": {},
        }

    if "continual" in EXPERIMENTS:
        strategy, seed = next(iter(config["continual"]["strategies"])), config["continual"]["seeds"][0]
        for phase in continual_order():
            add(f"continual_{strategy}_seed{seed}_{phase}", "continual", f"{phase_dir(strategy, seed, phase)}/model")
        for domain in continual_order():
            base = models[base_ids[BASE_MODELS["continual"]]]
            base["evaluations"][f"continual_{domain}"] = f"{base_model_dir()}/eval/{domain}.json"
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
            sets[f"continual_{domain}"] = {
                "kind": "split",
                "path": f"{continual_data(domain)}/data/{domain}/split.json",
                "block_size": block,
                "max_tokens": config["continual"]["split"].get("max_test_tokens"),
            }
    if "arithmetic" in EXPERIMENTS:
        sets["arithmetic_held_out"] = {
            "kind": "instructions",
            "path": f"{ARITHMETIC}/data/eval_held_out.jsonl",
            "separator": ARITHMETIC_SEPARATOR,
        }
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
            *(
                f"{CONTINUAL}/{name}.png"
                for name in ["loss_matrix", "forgetting_vs_learning", "perplexity", "train_loss"]
            ),
        ],
        "arithmetic": [f"{ARITHMETIC}/metrics.json", f"{ARITHMETIC}/error_by_target.png"],
        "java": [f"{JAVA}/metrics.json", f"{JAVA}/examples.md", f"{JAVA}/accuracy.png"],
        "instruct": [f"{INSTRUCT}/metrics.json", f"{INSTRUCT}/export"],
    }
    if interpolation_alphas():
        targets["continual"] += [f"{CONTINUAL}/frontier.json", f"{CONTINUAL}/frontier.png"]
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
    raise ValueError(f"{RESULTS}/{name}/{wildcards.path}: experiment {name!r} is not run by this config ({reason})")


# Studies (study.smk): the run record of a results folder; with `sweeps:`, the branches
# of this config, each this same workflow loaded as a module under its own config in its
# own folder, and the study table.
# What a run is: its config less the study around it and where its curves go (neither
# changes a result, so neither reruns anything; lmtune.study.sweeps.NOT_RUN_SETTINGS).
RUN_SETTINGS = {key: value for key, value in config.items() if key not in NOT_RUN_SETTINGS}
# A branch is loaded as a module named after it; the top level has no namespace.
TOP_LEVEL = workflow.modifier.namespace is None
# The branch rules' names: branch_<hash of the branch id>_<rule>.
BRANCH_MODULE = "branch_"
STUDY = f"{RESULTS}/study"


def final_outputs():
    """Everything the run record follows: the experiments' final outputs."""
    return all_targets()


def branch_results(branch_id):
    return RESULTS if branch_id == BASE_ID else f"{STUDY}/{branch_id}"


def study_branches():
    """The study's branches whose runs differ, the base first, each with its config;
    none without `sweeps:`. A branch that runs what another runs is said once in the
    log and reported as that one's row."""
    sweep = config.get("sweeps")
    if not sweep:
        return []
    base = {key: value for key, value in config.items() if key != "sweeps"}
    if "sheet" in sweep:
        branches = read_sweep_sheet(sweep["sheet"], base, CONFIG_SCHEMA)
    else:
        branches = expand_sweep(sweep, base, CONFIG_SCHEMA)
    for branch in branches:
        for path in branch.overrides:
            if path.split(".")[0] in NOT_RUN_SETTINGS:
                raise SweepError(f"sweeps: {path} is not a setting of a run and cannot be swept")
    configs = {BASE_ID: config, **{branch.id: branch_config(base, branch) for branch in branches[1:]}}
    distinct = distinct_branches(branches, configs)
    for branch in distinct:
        for repeat in branch.repeats:
            logger.info(
                f"sweeps: {repeat} runs exactly what {branch.id} runs (the same settings for the experiments "
                f"that run): not planned again, reported as {branch.id}'s row of study.csv"
            )
    return [(branch, configs[branch.id]) for branch in distinct]


def branch_config(base, branch):
    """The branch's whole config in its own folder, with the defaults the base has (a
    branch that sets a whole section gets them too)."""
    resolved = resolved_config(base, branch, CONFIG_SCHEMA)
    resolved["results"] = branch_results(branch.id)
    # The module skips validation: it would read the schema relative to the module.
    validate(resolved, "../schemas/config.schema.yaml")
    return resolved


def load_branch(branch, branch_config):
    """The workflow under the branch's config, as rules named after it; the base model
    preparation stays the top level's."""
    register_branch(branch_config["results"], RUN_SETTINGS, RESULTS)
    name = BRANCH_MODULE + hashlib.sha256(branch.id.encode()).hexdigest()[:10]
    workflow.module(
        name,
        snakefile=workflow.main_snakefile,
        config=branch_config,
        skip_validation=True,
    )
    workflow.userule(
        rules=["*"],
        from_module=name,
        exclude_rules=["all", "prepare_base_model", "unplanned_target"],
        name_modifier=f"{name}_*",
    )(None)
    return experiments(branch_config)


def study_plot(setting):
    return f"{RESULTS}/study_plots/{setting}.png"


def study_targets():
    if not BRANCHES:
        return []
    return [f"{RESULTS}/study.csv", f"{RESULTS}/study.md", *map(study_plot, SWEPT)]


def study_inputs(wildcards):
    """Each branch's run record (its whole run done) and headline metrics files."""
    return {
        "records": [f"{branch_results(branch_id)}/{RUN_RECORD}" for branch_id in BRANCH_EXPERIMENTS],
        "metrics": [
            f"{branch_results(branch_id)}/{HEADLINES[name][0]}"
            for branch_id, names in BRANCH_EXPERIMENTS.items()
            for name in names
        ],
    }


def track_library_code():
    """A `library` param for each script's rules, the hash of the lmtune code the script
    runs (lmtune.core.fingerprint.library_codes). Snakemake reruns a job when its script
    changes, not when the library does; through this param a change of what that code
    does reruns exactly the jobs that run it. Called once all rules are defined."""
    scripts = {
        defined: Path(defined.basedir.get_path_or_uri(secret_free=True)) / defined.script
        for defined in workflow.rules
        if defined.is_script and "library" not in defined.params.keys()
    }
    codes = library_codes(
        set(scripts.values()),
        Path(workflow.basedir) / "src" / "lmtune",
        cache_dir=Path(".snakemake") / "lmtune",
    )
    for defined, script in scripts.items():
        defined.set_params(library=codes[script])
