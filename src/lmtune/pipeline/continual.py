"""The continual experiment's jobs under one config: the settings each one's script
reads, each one's identity, and the folder its files go in.

The rules (workflow/rules/continual/) take their params from here, and each job's
identity is made of those same settings and its inputs' identities
(lmtune.pipeline.identity): what a job reads and what it is compared by are one thing,
so no setting can be read and left out of the comparison.

Folders are shared by identity:
- within a run, a strategy's phase that trains exactly as the sequential strategy's (and
  so did every phase before it) is that one, trained once, in `sequential/`;
- in a study, each result is in the folder of the first run that makes it
  (lmtune.pipeline.sharing): a domain's token stores (the training side and the test side
  apart, since a cap on the test side leaves the training side as it is), the base model's
  evaluations, a phase (its model, training loss and evaluations) and an interpolated
  model's evaluations. A run claims every folder as it loads.
"""

from __future__ import annotations

from functools import cache

from lmtune import recipe
from lmtune.core.models import base_model_setting
from lmtune.core.sources import CorpusSpec, corpus_files
from lmtune.pipeline.identity import is_source, job_identity, result_compute, source_digest
from lmtune.pipeline.sharing import claim, claimed


class ContinualJobs:
    def __init__(self, config: dict, base_model_folder: str):
        self.config = config
        self.section = config["continual"]
        self.folder = f"{config['results']}/continual"
        self.base_model_folder = base_model_folder
        self._claim_folders()

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

    def _tokenize_inputs(self, domain: str) -> dict:
        return {"split": self.split(domain), "corpus": self.corpus(domain), "model": self.base_model()}

    @cache
    def tokens(self, domain: str) -> str:
        """Both sides of a domain's split as token stores (blocks are cut at load)."""
        return job_identity("tokenize_split", self.tokenize_settings(), self._tokenize_inputs(domain))

    @cache
    def train_tokens(self, domain: str) -> str:
        """The training side of tokens(domain): what the tokenize settings (a cap on the
        test side) leave as it is."""
        return job_identity("tokenize_split, training side", {}, self._tokenize_inputs(domain))

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
                "tokens": self.train_tokens(phase),
                "earlier_tokens": [self.train_tokens(domain) for domain in self.earlier_domains(strategy, phase)],
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

    # Folders: claimed for every result this run makes, as it loads; each is this run's
    # own, or the folder of the first run that claimed the same identity.

    def interpolation_run(self) -> tuple[str, int]:
        """(strategy, seed) of the run whose models are interpolated: the interpolation
        strategy's first seed."""
        strategy = self.section["interpolation"]["strategy"]
        recipe.strategy_settings(self.config, strategy)  # a strategy the config does not define is an error
        return strategy, self.section["seeds"][0]

    def interpolation_curves(self) -> dict[str, tuple[str, str]]:
        """curve name -> (start, end), a phase's name or `base`: from the model after the
        second-last phase, and from the base model, to the model after the last phase."""
        order = self.section["order"]
        return {f"{start}_to_{order[-1]}": (start, order[-1]) for start in (order[-2], "base")}

    def _claim_folders(self) -> None:
        order = self.section["order"]
        for domain in order:
            claim(self.train_tokens(domain), self.folder)
            claim(self.tokens(domain), self.folder)
        claim(self.evaluation(self.base_model()), f"{self.folder}/base")
        for strategy in self.section["strategies"]:
            for seed in self.section["seeds"]:
                for phase in order:
                    own = f"{self.folder}/{self.phase_owner(strategy, seed, phase)}/seed{seed}/{phase}"
                    training = self.training(strategy, seed, phase)
                    claim(training, own)
                    claim(self.evaluation(training), own)
        if self.section["interpolation"]["alphas"]:
            strategy, seed = self.interpolation_run()
            for curve, (start, end) in self.interpolation_curves().items():
                for alpha in self.section["interpolation"]["alphas"]:
                    own = f"{self.folder}/interpolation/{strategy}/seed{seed}/{curve}/alpha{alpha:g}"
                    claim(self.evaluation(self.interpolated(strategy, seed, start, end, alpha)), own)

    def data_folder(self, domain: str) -> str:
        """The folder of a domain's split (data/) and token stores (tokens/) whose test
        side the evaluations read (their identity holds the split's)."""
        return claimed(self.tokens(domain))

    def train_data_folder(self, domain: str) -> str:
        """The folder whose token stores' training side the phases read."""
        return claimed(self.train_tokens(domain))

    def phase_owner(self, strategy: str, seed: int, phase: str) -> str:
        """The strategy whose folder holds this phase: "sequential" where it trains exactly
        as the sequential strategy's phase (so does every phase before it: a phase's
        identity holds its start model's), else `strategy`."""
        same = self.training(strategy, seed, phase) == self.training("sequential", seed, phase)
        return "sequential" if same else strategy

    def model_folder(self, strategy: str, seed: int, phase: str) -> str:
        """The folder of a phase's model and training loss: a run whose evaluations differ
        (a cap on the test side) still reads the model it would train from its first maker."""
        return claimed(self.training(strategy, seed, phase))

    def phase_folder(self, strategy: str, seed: int, phase: str) -> str:
        """The folder of a phase's evaluations (eval/<domain>.json, benchmarks/); where
        its model is too (model_folder) unless its first maker evaluates it otherwise."""
        return claimed(self.evaluation(self.training(strategy, seed, phase)))

    def base_evaluation_folder(self) -> str:
        """The base model's evaluations (eval/<domain>.json)."""
        return claimed(self.evaluation(self.base_model()))

    def interpolation_folder(self, curve: str, alpha: float) -> str:
        """An interpolated model's evaluations (eval/<domain>.json)."""
        strategy, seed = self.interpolation_run()
        start, end = self.interpolation_curves()[curve]
        return claimed(self.evaluation(self.interpolated(strategy, seed, start, end, alpha)))
