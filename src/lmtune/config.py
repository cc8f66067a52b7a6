"""Checks of the config that a JSON schema cannot express, run before any job starts."""

from __future__ import annotations

from pathlib import Path

from .corpus import read_corpus, split_paragraphs
from .errors import CorpusError, LmtuneError
from .models import parse_source


class ConfigError(LmtuneError):
    pass


def check_continual(section: dict, workdir: Path = Path(".")) -> None:
    domains, order, phases = section["domains"], section["order"], section["phases"]
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


def check_config(config: dict, workdir: Path = Path(".")) -> None:
    """Raise ConfigError naming the setting; the schema has already checked the types."""
    try:
        parse_source(config["base_model"]["source"])
    except LmtuneError as exc:
        raise ConfigError(str(exc)) from None
    check_continual(config["continual"], workdir)
