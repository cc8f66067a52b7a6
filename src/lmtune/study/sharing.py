"""A study branch's continual results that are the base run's, by what they are made of.

A branch runs the whole workflow under its config in its own folder. A continual phase
(its model, training loss and evaluations on every domain) that the branch would make
from exactly what the base run makes it from (every setting it is trained and evaluated
with, and every earlier phase's) is the base's: the branch reads it from the base's
folder instead of training it again, so sweeping a replay share retrains only the
replay runs' later phases. The base model's evaluations, the evaluations of the
models interpolated between shared phases, and each domain's split and token blocks are
shared the same way.

The comparison is of settings, in one process: both configs are resolved by the same
schema and read by the same code (lmtune.recipe), and the files compared are the same
corpus files and base model folder. It errs towards not sharing: anything in the
sections a phase reads that differs, even a setting that might not matter, keeps the
branch's own copy.
"""

from __future__ import annotations

from lmtune import recipe
from lmtune.config import experiments
from lmtune.continual.strategies import StrategyError

# Branch results folder -> (base config, base results folder), set by the top level
# before it loads each branch's rules, which read it from their own process-wide copy.
_BASES: dict[str, tuple[dict, str]] = {}


def register_branch(branch_results: str, base_config: dict, base_results: str) -> None:
    _BASES[branch_results] = (base_config, base_results)


def _base_of(results: str) -> tuple[dict, str] | None:
    base = _BASES.get(results)
    if base is None or "continual" not in experiments(base[0]):
        return None
    return base


def _data_inputs(config: dict, domain: str) -> tuple | None:
    """What a domain's split and token blocks are made from: its corpus, the split
    settings and the tokenizer (the continual base model's). None where the config has
    no such domain."""
    continual = config["continual"]
    if domain not in continual["domains"]:
        return None
    return (config["base_model"], continual.get("base_model"), continual["domains"][domain], continual["split"])


def shared_data_dir(results: str, config: dict, domain: str) -> str | None:
    """The base run's continual folder for this domain's split (data/<domain>/) and
    token stores (tokens/<domain>/), where the branch makes them from the same inputs
    (the split settings include max_test_tokens); blocks of any size are cut from them
    at load."""
    base = _base_of(results)
    ours = _data_inputs(config, domain)
    if base is None or ours is None or ours != _data_inputs(base[0], domain):
        return None
    return f"{base[1]}/continual"


def _evaluation_inputs(config: dict) -> tuple:
    """What every continual evaluation reads besides its model: the base model (its
    tokenizer), the corpora, their split, the evaluation settings and the compute."""
    continual = config["continual"]
    return (
        config["base_model"],
        continual.get("base_model"),
        config["compute"],
        config["seed"],
        continual["order"],
        continual["domains"],
        continual["split"],
        continual["evaluation"],
    )


def _phase_inputs(config: dict, strategy: str, seed: int, phase: str) -> tuple | None:
    """What a phase's folder is made of: the evaluation inputs, and the training spec,
    phase settings and earlier data of this phase and of every one before it. None
    where the config cannot train it (the strategy or seed is not configured)."""
    continual = config["continual"]
    if seed not in continual["seeds"]:
        return None
    phases = continual["order"][: continual["order"].index(phase) + 1]
    try:
        trained = [
            (
                recipe.continual_phase(config, strategy, seed, each),
                recipe.earlier_domains(config, strategy, each),
                continual["phases"][each],
            )
            for each in phases
        ]
    except StrategyError:
        return None
    return (_evaluation_inputs(config), trained)


def shared_phase_dir(results: str, config: dict, strategy: str, seed: int, phase: str) -> str | None:
    """The base run's folder of this phase, where the branch whose results folder is
    `results` makes it from the same inputs; else None (it is the branch's own)."""
    base = _base_of(results)
    if base is None or phase not in base[0]["continual"]["order"]:
        return None
    base_config, base_results = base
    ours = _phase_inputs(config, strategy, seed, phase)
    if ours is None or ours != _phase_inputs(base_config, strategy, seed, phase):
        return None
    owner = recipe.phase_owner(base_config, strategy, seed, phase)
    return f"{base_results}/continual/{owner}/seed{seed}/{phase}"


def shared_base_model_dir(results: str, config: dict) -> str | None:
    """The base run's folder of the base model's evaluations, where they read the same."""
    base = _base_of(results)
    if base is None or _evaluation_inputs(config) != _evaluation_inputs(base[0]):
        return None
    return f"{base[1]}/continual/base"


def shared_interpolation_dir(
    results: str, config: dict, strategy: str, seed: int, curve: str, points: tuple[str, str], alpha: float
) -> str | None:
    """The base run's folder of an interpolated model's evaluations, where the base
    interpolates the same run at this α and both ends of the curve (`points`: phases or
    "base") are the base's."""
    base = _base_of(results)
    if base is None:
        return None
    base_config, base_results = base
    interpolation = base_config["continual"]["interpolation"]
    if alpha not in interpolation["alphas"] or (interpolation["strategy"], base_config["continual"]["seeds"][0]) != (strategy, seed):
        return None
    for point in points:
        shared = (
            shared_base_model_dir(results, config) if point == "base" else shared_phase_dir(results, config, strategy, seed, point)
        )
        if shared is None:
            return None
    return f"{base_results}/continual/interpolation/{strategy}/seed{seed}/{curve}/alpha{alpha:g}"
