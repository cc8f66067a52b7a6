# What the rules all need: the config checked, the results folders, what a job asks of the
# machine or a scheduler, the base models, the final targets. Each experiment's paths and
# input functions are in its own file (continual.smk, arithmetic.smk, ...); a study's in
# study.smk; the params of library code and input contents in identity.smk.

import os
import re

from lmtune.config import EXPERIMENTS as ALL_EXPERIMENTS, check_config, check_results_folder, experiments
from lmtune.core.benchmarks import benchmark_tasks
from lmtune.core.models import MATERIALISED_MODELS_DIR, base_model_setting, parse_source, trust_code_of
from lmtune.cross import MATRIX_EXPERIMENTS
from lmtune.core.schema import check_schema, coerce_to_schema, fill_defaults
from lmtune.experiments import config_schema
from lmtune.pipeline.identity import result_compute, workflow_outputs
from lmtune.pipeline.sharing import experiment_folder, forget_claims
from lmtune.pipeline.slurm import check_partition

# workflow/schemas/config.schema.yaml with each experiment's section (its package's).
CONFIG_SCHEMA = config_schema()
# A study's branch is this workflow loaded as a module (study.smk) under a config that the
# top level has already checked and filled in (branch_config).
TOP_LEVEL = workflow.modifier.namespace is None
if TOP_LEVEL:
    # Checked when the workflow loads, before any job: a bad setting stops it here with one
    # line naming the key, the value and what was expected.
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
    fill_defaults(config, CONFIG_SCHEMA)
    check_config(config)
    # A job sent to a partition the cluster does not have stops here, not after the planning.
    check_partition(os.environ.get("LMTUNE_SLURM_PARTITION"), "LMTUNE_SLURM_PARTITION")
    # What the workflow makes; every other input is a source, its content part of a job's
    # identity (lmtune.pipeline.identity).
    workflow_outputs(config["results"], MATERIALISED_MODELS_DIR)
    # The folders that earlier loads of a workflow in this process claimed are not this one's.
    forget_claims()

EXPERIMENTS = experiments(config)
# Every output, log, benchmark and checkpoint lives under the config's results folder
# (`results`); only resources/ (materialised base models) is shared between folders.
RESULTS = config["results"]
LOGS = f"{RESULTS}/logs"
BENCHMARKS = f"{RESULTS}/benchmarks"
# What of the compute settings decides a job's result (its params).
COMPUTE = result_compute(config)
# lm-eval's task name -> the benchmark task (benchmarks.tasks), run on every model the
# continual experiment evaluates.
BENCHMARK_TASKS = benchmark_tasks(config["benchmarks"])
# Absolute: the rules' files lie at different depths under workflow/rules/.
ENV = str(Path(workflow.basedir) / "envs" / "lmtune.yaml")
# The experiments in the cross-experiment matrix (cross.smk).
CROSS_EXPERIMENTS = [name for name in EXPERIMENTS if name in MATRIX_EXPERIMENTS]


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


BASE_MODELS = {name: _model_folder(base_model_setting(config, name)) for name in EXPERIMENTS}
# Every job that loads a model folder the config trusts runs its code; no other does.
trust_code_of(
    *(folder for name, folder in BASE_MODELS.items() if base_model_setting(config, name)["trust_remote_code"])
)


wildcard_constraints:
    model="|".join(MATERIALISED_MODELS) or "(?!)",
    domain="[A-Za-z0-9]+",
    phase="[A-Za-z0-9]+",
    strategy="[A-Za-z0-9_]+",
    seed="[0-9]+",
    model_dir="base|[A-Za-z0-9_]+/seed[0-9]+/[A-Za-z0-9]+|interpolation/[A-Za-z0-9_]+/seed[0-9]+/[A-Za-z0-9]+_to_[A-Za-z0-9]+/alpha[0-9.e-]+",
    split="train|test",
    variant="[A-Za-z0-9_]+",
    run="[A-Za-z0-9]+",
    model_id="[A-Za-z0-9_]+",


def experiment_results(name, leave_out=()):
    """The folder of an experiment's results (those not made of the settings `leave_out`
    of its section), and whether this run makes them: in a study, a branch whose settings
    for them are those of an earlier run reads them from that run's folder
    (lmtune.pipeline.sharing)."""
    folder = experiment_folder(config, name, ALL_EXPERIMENTS, leave_out)
    return folder, folder == f"{RESULTS}/{name}"


# experiment -> its final outputs, each experiment's file adding its own.
TARGETS = {}
# experiment -> a function that adds its final models and held-out sets to the cross
# matrix (an lmtune.cross.MatrixPlan), each experiment in it adding its own (cross.smk).
CROSS_MATRIX = {}


def all_targets():
    """The final outputs of every experiment the config runs, and the cross matrix."""
    return [path for name in [*EXPERIMENTS, "cross"] for path in TARGETS.get(name, [])]


# Experiments whose results this config does not produce (see rule unplanned_target).
UNPLANNED = [
    name
    for name in (*ALL_EXPERIMENTS, "cross")
    if name not in EXPERIMENTS and (name != "cross" or len(CROSS_EXPERIMENTS) < 2)
]


def unplanned_experiment(wildcards):
    name = wildcards.experiment
    reason = (
        f"the cross-experiment matrix needs two or more of {', '.join(MATRIX_EXPERIMENTS)}"
        if name == "cross"
        else f"the config has no {name} section" if name not in config else f"experiments is {EXPERIMENTS}"
    )
    raise ValueError(f"{RESULTS}/{name}/{wildcards.path}: experiment {name!r} is not run by this config ({reason})")
