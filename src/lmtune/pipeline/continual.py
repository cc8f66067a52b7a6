"""The continual experiment's jobs under one config: the settings each one's script
reads, each one's identity, and the folder its files go in.

The rules (workflow/rules/continual/) take their params from here, and each job's
identity is made of those same settings and its inputs' identities
(lmtune.pipeline.identity): what a job reads and what it is compared by are one thing,
so no setting can be read and left out of the comparison.

Folders are shared by identity:
- within a run, a strategy's phase that trains exactly as the sequential strategy's (and
  so did every phase before it) is that one, trained once, in `sequential/`;
- in a study branch, a domain's split and blocks, the base model's evaluations, a phase
  (its model, training loss and evaluations) and an interpolated model's evaluations
  are the base run's, read from its folder, where the branch would make them from
  exactly what the base makes them from (blocks of any size are cut from a domain's
  token stores as a job loads them).
"""

from __future__ import annotations

from functools import cache

from lmtune import recipe
from lmtune.continual.strategies import StrategyError
from lmtune.core.models import base_model_setting
from lmtune.core.sources import CorpusSpec, corpus_files
from lmtune.pipeline.identity import is_source, job_identity, result_compute, source_digest

# A study branch's results folder -> the base run's jobs, registered by the top level
# before it loads the branch (each branch's rules then find their base here).
_BASES: dict[str, "ContinualJobs"] = {}


def register_branch(branch_results: str, base: "ContinualJobs | None") -> None:
    if base is not None:
        _BASES[branch_results] = base


class ContinualJobs:
    def __init__(self, config: dict, base_model_folder: str):
        self.config = config
        self.section = config["continual"]
        self.folder = f"{config['results']}/continual"
        self.base_model_folder = base_model_folder
        self.base = _BASES.get(config["results"])

    # What each job's script reads (its rule's params), besides its inputs.

    def corpus_setting(self, domain: str):
        return self.section["domains"][domain]["corpus"]

    def corpus_files(self, domain: str) -> list[str]:
        """Every file of a domain's corpus (none for a hub dataset)."""
        return list(self._corpus_files(domain))

    @cache
    def _corpus_files(self, domain: str) -> tuple[str, ...]:
        return tuple(str(path) for path in corpus_files(CorpusSpec.from_setting(self.corpus_setting(domain))))

    def split_settings(self) -> dict:
        split = self.section["split"]
        return {"test_fraction": split["test_fraction"], "seed": split["seed"]}

    def tokenize_settings(self) -> dict:
        return {"max_test_tokens": self.section["split"].get("max_test_tokens")}

    def training_spec(self, strategy: str, seed: int, phase: str) -> dict:
        return recipe.continual_phase(self.config, strategy, seed, phase).to_dict()

    def evaluation_settings(self) -> dict:
        evaluation = self.section["evaluation"]
        return {
            "batch_size": evaluation["batch_size"],
            "block_size": evaluation["block_size"],
            "compute": result_compute(self.config),
        }

    def earlier_domains(self, strategy: str, phase: str) -> list[str]:
        return recipe.earlier_domains(self.config, strategy, phase)

    # Identities: digests of the settings above and the inputs' identities.

    @cache
    def base_model(self) -> str:
        if is_source(self.base_model_folder):
            return source_digest(self.base_model_folder)
        spec = base_model_setting(self.config, "continual")
        return job_identity("prepare_base_model", {key: spec[key] for key in ("source", "trust_remote_code")}, {})

    @cache
    def corpus(self, domain: str) -> list[str]:
        return [source_digest(file) for file in self.corpus_files(domain)]

    @cache
    def split(self, domain: str) -> str:
        return job_identity(
            "split_corpus",
            {"corpus": self.corpus_setting(domain), **self.split_settings()},
            {"corpus": self.corpus(domain)},
        )

    @cache
    def tokens(self, domain: str) -> str:
        """Both sides of a domain's split as token stores (blocks are cut at load)."""
        return job_identity(
            "tokenize_split",
            self.tokenize_settings(),
            {"split": self.split(domain), "corpus": self.corpus(domain), "model": self.base_model()},
        )

    @cache
    def training(self, strategy: str, seed: int, phase: str) -> str:
        order = self.section["order"]
        earlier = order[: order.index(phase)]
        # Its name says which run it is in logs, not what it computes.
        spec = {key: value for key, value in self.training_spec(strategy, seed, phase).items() if key != "name"}
        return job_identity(
            "train_phase",
            spec,
            {
                "model": self.training(strategy, seed, earlier[-1]) if earlier else self.base_model(),
                "tokens": self.tokens(phase),
                "earlier_tokens": [self.tokens(domain) for domain in self.earlier_domains(strategy, phase)],
            },
        )

    @cache
    def evaluation(self, model: str) -> str:
        """The evaluation of the model of identity `model` on every domain's test store."""
        return job_identity(
            "evaluate_continual_model",
            {**self.evaluation_settings(), "domains": self.section["order"]},
            {"model": model, "tokens": [self.tokens(domain) for domain in self.section["order"]]},
        )

    def point(self, strategy: str, seed: int, point: str) -> str:
        """The model at one end of an interpolation curve: a phase's, or the base model."""
        return self.base_model() if point == "base" else self.training(strategy, seed, point)

    @cache
    def interpolated(self, strategy: str, seed: int, start: str, end: str, alpha: float) -> str:
        return job_identity(
            "interpolate_weights",
            {"alpha": float(alpha)},
            {"start": self.point(strategy, seed, start), "end": self.point(strategy, seed, end)},
        )

    # Folders: this run's own, or the base run's where the identities are equal.

    def _same_in_base(self, identity, of_base) -> bool:
        """Whether the base run has this job: `of_base(base)` its identity there (None
        or a StrategyError where the base cannot make it)."""
        if self.base is None:
            return False
        try:
            return identity() == of_base(self.base)
        except (StrategyError, KeyError, ValueError):
            return False

    def base_runs_seed(self, seed: int) -> bool:
        return self.base is not None and seed in self.base.section["seeds"]

    def base_interpolates(self, strategy: str, seed: int, alpha: float) -> bool:
        if self.base is None:
            return False
        interpolation = self.base.section["interpolation"]
        run = (interpolation["strategy"], self.base.section["seeds"][0])
        return alpha in interpolation["alphas"] and run == (strategy, seed)

    def data_folder(self, domain: str) -> str:
        """The folder of a domain's split (data/) and token stores (tokens/): the base's
        where its token stores are these (their identity holds the split's)."""
        if self._same_in_base(lambda: self.tokens(domain), lambda base: base.tokens(domain)):
            return self.base.data_folder(domain)
        return self.folder

    def phase_owner(self, strategy: str, seed: int, phase: str) -> str:
        """The strategy whose folder holds this phase: "sequential" where it trains exactly
        as the sequential strategy's phase (so does every phase before it: a phase's
        identity holds its start model's), else `strategy`."""
        same = self.training(strategy, seed, phase) == self.training("sequential", seed, phase)
        return "sequential" if same else strategy

    def phase_folder(self, strategy: str, seed: int, phase: str) -> str:
        """A phase's model, training loss and evaluations (eval/<domain>.json)."""
        if self.base_runs_seed(seed) and self._same_in_base(
            lambda: self.evaluation(self.training(strategy, seed, phase)),
            lambda base: base.evaluation(base.training(strategy, seed, phase)),
        ):
            return self.base.phase_folder(strategy, seed, phase)
        return f"{self.folder}/{self.phase_owner(strategy, seed, phase)}/seed{seed}/{phase}"

    def base_evaluation_folder(self) -> str:
        """The base model's evaluations (eval/<domain>.json)."""
        if self._same_in_base(
            lambda: self.evaluation(self.base_model()), lambda base: base.evaluation(base.base_model())
        ):
            return self.base.base_evaluation_folder()
        return f"{self.folder}/base"

    def interpolation_folder(self, strategy: str, seed: int, curve: str, start: str, end: str, alpha: float) -> str:
        """An interpolated model's evaluations (eval/<domain>.json)."""
        if self.base_interpolates(strategy, seed, alpha) and self._same_in_base(
            lambda: self.evaluation(self.interpolated(strategy, seed, start, end, alpha)),
            lambda base: base.evaluation(base.interpolated(strategy, seed, start, end, alpha)),
        ):
            return self.base.interpolation_folder(strategy, seed, curve, start, end, alpha)
        return f"{self.folder}/interpolation/{strategy}/seed{seed}/{curve}/alpha{alpha:g}"
