# Continual pre-training (seed 000): the paths of its runs and its input functions; its
# rules, by stage, in continual/. One run per strategy and seed. A run's phase lives in
# <results>/continual/<strategy>/seed<seed>/<phase>/ (model, training loss, evaluations);
# the base model's evaluations in <results>/continual/base/eval/. What each phase trains
# with is lmtune.recipe's to say: the rules never name a strategy. What each job reads,
# its identity and the folder it writes in (its own, or one it shares) are
# lmtune.pipeline.continual's.

from lmtune.continual.metrics import stage_names
from lmtune.pipeline.continual import ContinualJobs

CONTINUAL, CONTINUAL_MADE_HERE = experiment_results("continual")
CONTINUAL_JOBS = ContinualJobs(config, BASE_MODELS["continual"])


def continual_order():
    return config["continual"]["order"]


def continual_runs():
    return [(strategy, seed) for strategy in config["continual"]["strategies"] for seed in config["continual"]["seeds"]]


def check_seed(seed):
    seeds = config["continual"]["seeds"]
    if int(seed) not in seeds:
        raise ValueError(f"continual seed {seed} is not configured: continual.seeds is {seeds}")


def phase_dir(strategy, seed, phase):
    check_seed(seed)
    return CONTINUAL_JOBS.phase_folder(strategy, int(seed), phase)


def phase_model(strategy, seed, phase):
    """A phase's trained model (a folder of a run that evaluates it otherwise may read it)."""
    check_seed(seed)
    return f"{CONTINUAL_JOBS.model_folder(strategy, int(seed), phase)}/model"


def base_model_dir():
    """The folder of the base model's evaluations."""
    return CONTINUAL_JOBS.base_evaluation_folder()


def phase_spec(wildcards):
    check_seed(wildcards.seed)
    return CONTINUAL_JOBS.training_spec(wildcards.strategy, int(wildcards.seed), wildcards.phase)


def continual_data(domain):
    """The folder of a domain's split (data/) and blocks (tokens/)."""
    return CONTINUAL_JOBS.data_folder(domain)


def train_tokens(domain):
    """A domain's training token store (its blocks are cut at the phase's size as it loads):
    a cap on the test side leaves it, and the phases that read it, shared."""
    return f"{CONTINUAL_JOBS.train_data_folder(domain)}/tokens/{domain}/train"


def phase_inputs(wildcards):
    """The model the phase starts from, its domain's token store, and the earlier
    domains' stores its strategy reads (replay mixes them in, EWC takes its Fisher from
    them)."""
    strategy, seed, phase = wildcards.strategy, wildcards.seed, wildcards.phase
    check_seed(seed)
    order = continual_order()
    earlier = order[: order.index(phase)]
    return {
        "model": phase_model(strategy, seed, earlier[-1]) if earlier else BASE_MODELS["continual"],
        "tokens": train_tokens(phase),
        "earlier_tokens": [train_tokens(domain) for domain in CONTINUAL_JOBS.earlier_domains(strategy, phase)],
    }


def continual_model(wildcards):
    """The model of a folder of evaluations: the base model, an interpolated model, or a
    phase's (<strategy>/seed<seed>/<phase>)."""
    if wildcards.model_dir == "base":
        return BASE_MODELS["continual"]
    if wildcards.model_dir.startswith("interpolation/"):
        return f"{CONTINUAL}/{wildcards.model_dir}/model"
    strategy, seed, phase = wildcards.model_dir.split("/")
    return phase_model(strategy, seed.removeprefix("seed"), phase)


def eval_tokens(wildcards):
    """Every domain's test token store, in `continual.order`: a model is loaded once and
    evaluated on each."""
    return [f"{continual_data(domain)}/tokens/{domain}/test" for domain in continual_order()]


def domain_corpus(wildcards):
    """Every file of the domain's corpus (a glob or folder expanded, a datasets folder's
    files), so that a changed shard reruns its split; none for a hub dataset."""
    return CONTINUAL_JOBS.corpus_files(wildcards.domain)


def stage_folders(strategy, seed):
    """stage (base, after_A, ...) -> the folder of that stage's model's evaluations."""
    return {
        "base": base_model_dir(),
        **{f"after_{phase}": phase_dir(strategy, seed, phase) for phase in continual_order()},
    }


def run_evaluations(wildcards):
    """Every evaluation of a run, keyed as the seed named them: base_A, after_A_B, ..."""
    folders = stage_folders(wildcards.strategy, wildcards.seed)
    return {
        f"{stage}_{domain}": f"{folder}/eval/{domain}.json"
        for domain in continual_order()
        for stage, folder in folders.items()
    }


def run_benchmarks(wildcards):
    """Every benchmark result of a run, stage by stage, task by task (run_benchmark_keys)."""
    folders = stage_folders(wildcards.strategy, wildcards.seed)
    return [f"{folders[stage]}/benchmarks/{task}.json" for stage, task in run_benchmark_keys()]


def run_benchmark_keys():
    return [(stage, task) for stage in stage_names(continual_order()) for task in BENCHMARK_TASKS]


def run_metrics():
    return [f"{CONTINUAL}/{strategy}/seed{seed}/metrics.json" for strategy, seed in continual_runs()]


def run_loss_logs():
    """((strategy, seed, phase), training loss file) of every phase of every run."""
    return [
        ((strategy, seed, phase), f"{CONTINUAL_JOBS.model_folder(strategy, seed, phase)}/train_loss.csv")
        for strategy, seed in continual_runs()
        for phase in continual_order()
    ]


# Weight interpolation (interpolation.smk): θ(α) between two models of one run
# (ContinualJobs.interpolation_run and interpolation_curves say which).
def interpolation_alphas():
    return config["continual"]["interpolation"]["alphas"]


def interpolation_run():
    """(strategy, seed) of the run whose models are interpolated."""
    return CONTINUAL_JOBS.interpolation_run()


def interpolation_curves():
    """curve name -> (start, end): a phase's name or `base`."""
    return CONTINUAL_JOBS.interpolation_curves()


def interpolation_dir(curve, alpha):
    return CONTINUAL_JOBS.interpolation_folder(curve, alpha)


def interpolation_point_dir(point, strategy, seed):
    """Where a curve's end is: the base model's folder (evaluations), or the run's phase."""
    return base_model_dir() if point == "base" else phase_dir(strategy, seed, point)


def interpolation_inputs(wildcards):
    start, end = interpolation_curves()[wildcards.curve]
    return {
        name: (BASE_MODELS["continual"] if point == "base" else phase_model(wildcards.strategy, wildcards.seed, point))
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


def interpolation_benchmarks():
    """Every benchmark result of the interpolated models (the curves' ends are the run's
    own models, in run_benchmarks)."""
    return [
        f"{interpolation_dir(curve, alpha)}/benchmarks/{task}.json"
        for curve in interpolation_curves()
        for alpha in interpolation_alphas()
        for task in BENCHMARK_TASKS
    ]


TARGETS["continual"] = [
    f"{CONTINUAL}/summary.json",
    *(f"{CONTINUAL}/{name}.png" for name in ["loss_matrix", "forgetting_vs_learning", "perplexity", "train_loss"]),
    *([f"{CONTINUAL}/frontier.json", f"{CONTINUAL}/frontier.png"] if interpolation_alphas() else []),
    *([f"{CONTINUAL}/benchmarks.png", *interpolation_benchmarks()] if BENCHMARK_TASKS else []),
]


def continual_cross_matrix(matrix):
    """The first strategy's model after each phase (its first seed), and each domain's
    test side; the base model's and the phases' evaluations and benchmarks are this
    experiment's own (evaluate_continual_model, benchmark_continual_model)."""
    strategy, seed = next(iter(config["continual"]["strategies"])), config["continual"]["seeds"][0]
    phase_ids = {phase: f"continual_{strategy}_seed{seed}_{phase}" for phase in continual_order()}
    for phase, model_id in phase_ids.items():
        matrix.add_model(model_id, "continual", phase_model(strategy, seed, phase))
    evaluation = config["continual"]["evaluation"]
    for domain in continual_order():
        matrix.add_set(
            f"continual_{domain}",
            {
                "kind": "split",
                "path": f"{continual_data(domain)}/data/{domain}/split.json",
                "block_size": evaluation["block_size"],
                "batch_size": evaluation["batch_size"],
                "max_tokens": config["continual"]["split"].get("max_test_tokens"),
            },
        )
    folders = {matrix.base_id("continual"): base_model_dir()}
    folders.update({model_id: phase_dir(strategy, seed, phase) for phase, model_id in phase_ids.items()})
    for model_id, folder in folders.items():
        for domain in continual_order():
            matrix.shared_evaluation(model_id, f"continual_{domain}", f"{folder}/eval/{domain}.json")
        for task in BENCHMARK_TASKS:
            matrix.shared_benchmark(model_id, task, f"{folder}/benchmarks/{task}.json")


CROSS_MATRIX["continual"] = continual_cross_matrix


# Made here unless an earlier run of the study makes the same; where this run makes the
# experiment, each result is still the first maker's (CONTINUAL_JOBS).
if CONTINUAL_MADE_HERE:

    include: "continual/data.smk"
    include: "continual/train.smk"
    include: "continual/evaluate.smk"
    include: "continual/metrics.smk"

    # Benchmark tasks through lm-evaluation-harness, where benchmarks.tasks lists any.
    if BENCHMARK_TASKS:

        include: "continual/benchmarks.smk"

    # Weight interpolation and the forgetting-learning frontier, where alphas are set.
    if interpolation_alphas():

        include: "continual/interpolation.smk"
