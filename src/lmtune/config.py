"""Checks of the config that a JSON schema cannot express, run before any job starts."""

from __future__ import annotations

from pathlib import Path

from .corpus import read_corpus, split_paragraphs
from .errors import CorpusError, LmtuneError
from .models import parse_source
from .strategies import StrategyError, check_strategy


class ConfigError(LmtuneError):
    pass


def check_continual(section: dict, workdir: Path = Path(".")) -> None:
    domains, order, phases = section["domains"], section["order"], section["phases"]
    for name, settings in section.get("strategies", {}).items():
        try:
            check_strategy(name, settings)
        except StrategyError as exc:
            raise ConfigError(str(exc)) from None
    for domain in order:
        if domain not in domains:
            raise ConfigError(
                f"continual.order names domain {domain!r}, which is not in continual.domains "
                f"({', '.join(domains)})"
            )
        if domain not in phases:
            raise ConfigError(f"continual.phases has no entry for domain {domain!r} of continual.order")
    for domain, spec in domains.items():
        corpus = workdir / spec["corpus"]
        try:
            paragraphs = split_paragraphs(read_corpus(corpus))
        except CorpusError as exc:
            raise ConfigError(f"continual.domains.{domain}.corpus: {exc}") from None
        if len(paragraphs) < 2:
            raise ConfigError(
                f"continual.domains.{domain}.corpus: {corpus} has {len(paragraphs)} paragraph(s); "
                "a train/test split needs at least 2, separated by a blank line"
            )


EXPERIMENTS = ("continual", "arithmetic", "java")


def check_config(config: dict, workdir: Path = Path(".")) -> None:
    """Raise ConfigError naming the setting; the schema has already checked the types."""
    if not any(name in config for name in EXPERIMENTS):
        raise ConfigError(f"the config has no experiment section: add one of {', '.join(EXPERIMENTS)}")
    models = {"base_model": config["base_model"]}
    models.update({f"{name}.base_model": config[name]["base_model"] for name in EXPERIMENTS if "base_model" in config.get(name, {})})
    for key, spec in models.items():
        try:
            parse_source(spec["source"])
        except LmtuneError as exc:
            raise ConfigError(f"{key}: {exc}") from None
    if "continual" in config:
        check_continual(config["continual"], workdir)
    if "arithmetic" in config:
        check_arithmetic(config["arithmetic"]["data"])
    if "java" in config:
        check_java(config["java"], workdir)


def check_arithmetic(data: dict) -> None:
    low, high = data["target_range"]
    add_low, add_high = data["addend_range"]
    if not 0 < low <= high:
        raise ConfigError(f"arithmetic.data.target_range must be [low, high] with 0 < low <= high, got {[low, high]}")
    if not 0 < add_low <= add_high:
        raise ConfigError(f"arithmetic.data.addend_range must be [low, high] with 0 < low <= high, got {[add_low, add_high]}")
    if low < add_low:
        raise ConfigError(f"arithmetic.data.target_range starts at {low}, below the smallest addend {add_low}")
    if data["held_out_targets"] >= high - low + 1:
        raise ConfigError(
            f"arithmetic.data.held_out_targets ({data['held_out_targets']}) leaves no target in "
            f"target_range {[low, high]} to train on"
        )


def check_java(section: dict, workdir: Path = Path(".")) -> None:
    from .java_tasks import FAMILIES

    corpus = section["corpus"]
    for source in corpus["sources"]:
        if source != "jdk" and not (workdir / source).exists():
            raise ConfigError(f"java.corpus.sources: {source} does not exist")
    if corpus["min_chars"] > corpus["max_chars"]:
        raise ConfigError(f"java.corpus: min_chars ({corpus['min_chars']}) is above max_chars ({corpus['max_chars']})")
    for family in section["instructions"].get("families") or []:
        if family not in FAMILIES:
            raise ConfigError(f"java.instructions.families: unknown family {family!r}; known: {', '.join(FAMILIES)}")
