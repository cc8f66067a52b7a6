"""Strategies against forgetting in continual pre-training, as plug-ins.

Each phase trains on its own domain; a strategy says what else a phase does. A strategy
is one module of this package holding one `Strategy` subclass: it is found by its
`method` name (the config's `continual.strategies.<name>.method`), its settings are
checked against its own `settings_schema` when the workflow loads, and the training
recipe (lmtune.recipe) asks it for its pieces. Rules and scripts never name a strategy:
adding one is adding a module here, with its test and a config entry.

The pieces, each optional:
- `earlier_data`: which earlier domains' training blocks a later phase reads
  ("none", "last" or "all"), for `mix` and `penalty`;
- `training(settings, first_phase)`: overrides of the phase's optimisation settings
  (a learning-rate schedule, say);
- `adapter(settings)`: a LoRA adapter to train instead of the full weights, merged into
  them at the end of the phase;
- `mix(data, earlier, settings, seed)`: the phase's training blocks, mixed with earlier ones;
- `penalty(model, earlier, settings, seed)`: a term added to the loss of every step.

`first_phase_plain`: with nothing earlier to act on, the first phase trains as the
sequential one and is shared with it rather than trained again.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import ClassVar

from lmtune.core.errors import LmtuneError
from lmtune.core.schema import ConfigError, check_schema, coerce_to_schema, definition


class StrategyError(LmtuneError):
    pass


# What every strategy's settings may hold besides its own: its method and overrides of
# some of the phases' optimisation settings (a LoRA strategy's own learning rate, say),
# as the config schema defines them.
TRAINING_OVERRIDES = ("learning_rate", "epochs", "max_steps", "warmup_steps", "weight_decay")


def common_settings() -> dict:
    training = definition("training")["properties"]
    return {
        "method": {"type": "string", "description": "the plug-in, by its method name (`lmtune strategies` lists them)"},
        "training": {
            "type": "object",
            "description": "overrides of the phases' hyper-parameters for this strategy (e.g. a LoRA learning rate)",
            "properties": {key: training[key] for key in TRAINING_OVERRIDES},
            "additionalProperties": False,
        },
    }


class Strategy:
    """What a strategy may add to a phase; each piece does nothing until a subclass says
    otherwise (lmtune.continual.strategies.sequential is the plain method)."""

    method: ClassVar[str]
    settings_schema: ClassVar[dict] = {}  # JSON schema properties of the strategy's own settings
    required: ClassVar[tuple[str, ...]] = ()
    first_phase_plain: ClassVar[bool] = False
    earlier_data: ClassVar[str] = "none"

    def training(self, settings: dict, first_phase: bool) -> dict:
        return {}

    def adapter(self, settings: dict) -> dict | None:
        return None

    def mix(self, data, earlier: list, settings: dict, seed: int):
        return data

    def penalty(self, model, earlier: list, settings: dict, seed: int):
        return None

    @classmethod
    def schema(cls) -> dict:
        return {
            "type": "object",
            "properties": {**common_settings(), **cls.settings_schema},
            "required": ["method", *cls.required],
            "additionalProperties": False,
        }


@lru_cache(maxsize=1)
def registry() -> dict[str, type[Strategy]]:
    """method name -> strategy class, from every module of this package, the plain
    sequential method first."""
    found = {}
    modules = sorted(pkgutil.iter_modules(__path__), key=lambda module: module.name != "sequential")
    for module in modules:
        if module.name.startswith("_"):
            continue
        imported = importlib.import_module(f"{__name__}.{module.name}")
        for value in vars(imported).values():
            if isinstance(value, type) and issubclass(value, Strategy) and value.__module__ == imported.__name__:
                found[value.method] = value
    return found


def describe() -> str:
    """Every strategy: its method, what it does (its module's first line) and its settings,
    as a Markdown table (`lmtune strategies`)."""
    import sys

    rows = ["| method | what it does | settings |", "| --- | --- | --- |"]
    for method, cls in registry().items():
        doc = sys.modules[cls.__module__].__doc__ or ""
        summary = " ".join(doc.strip().split("\n\n")[0].split())
        settings = ", ".join(f"`{name}`" for name in cls.settings_schema)
        rows.append(f"| `{method}` | {summary} | {settings} |")
    return "\n".join(rows)


def strategy(method: str) -> Strategy:
    try:
        return registry()[method]()
    except KeyError:
        raise StrategyError(f"unknown strategy method {method!r}; known: {', '.join(registry())}") from None


def check_strategy(name: str, settings: dict) -> None:
    """Check a configured strategy's settings against its plug-in's schema: one line
    naming the key, at workflow load."""
    method = settings.get("method")
    if method not in registry():
        raise StrategyError(
            f"continual.strategies.{name}: unknown method {method!r}; known: {', '.join(registry())}"
        )
    if name == "sequential" and method != "sequential":
        raise StrategyError(
            "continual.strategies.sequential: the name 'sequential' is kept for the plain "
            f"method (other strategies share its first phase), not {method!r}"
        )
    schema = registry()[method].schema()
    coerce_to_schema(settings, schema)  # --config values arrive as strings
    try:
        check_schema(settings, schema)
    except ConfigError as exc:
        raise StrategyError(str(exc).replace("config ", f"continual.strategies.{name}.", 1).replace(".top level", "")) from None
