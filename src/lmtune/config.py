"""The config, checked before any job starts: the schema's verdict in one short line, and
what a JSON schema cannot express (corpora readable, models findable, the device there)."""

from __future__ import annotations

from pathlib import Path

from lmtune.core.benchmarks import BenchmarkError, check_benchmarks
from lmtune.core.compute import check_compute_plan
from lmtune.core.sources import hub_unreachable
from lmtune.core.errors import LmtuneError, TrainingError
from lmtune.core.distributed import check_fsdp, check_parallel
from lmtune.core.models import MATERIALISED_MODELS_DIR, check_compute, check_hub_model, check_liger_kernel, parse_source
from lmtune.core.schema import ConfigError
from lmtune.core.training import check_warmup
from lmtune.experiments import registry

# Every experiment, in order (lmtune.experiments).
EXPERIMENTS = tuple(registry())


def experiments(config: dict) -> list[str]:
    """The experiments to run: `experiments` where the config lists them (so that
    `--config experiments=[arithmetic]` runs one), else every one it has a section for."""
    return list(config.get("experiments") or [name for name in EXPERIMENTS if name in config])


def check_benchmark_settings(config: dict, workdir: Path) -> None:
    try:
        check_benchmarks(config["benchmarks"], hub_unreachable, workdir / ".snakemake" / "lmtune")
    except BenchmarkError as exc:
        raise ConfigError(str(exc)) from None


def check_results_folder(results: str, workdir: Path, checkout: Path) -> None:
    """Raise ConfigError when the results folder is the working folder or the checkout,
    or holds one of them: every output, log and checkpoint goes under it, and a study
    writes its branches into it, so their files would mix with the config and the code
    (and a target would be read as a config file inside it)."""
    folder = (workdir / results).resolve()
    for what, place in (("the working folder", workdir.resolve()), ("the checkout", checkout.resolve())):
        if place.is_relative_to(folder):
            how = "is" if place == folder else "holds"
            raise ConfigError(
                f"results: {results!r} {how} {what} ({place}); name a folder of its own inside it for the results"
            )


def check_config(config: dict, workdir: Path = Path(".")) -> None:
    """Raise ConfigError naming the setting; the schema has already checked the types and
    filled in defaults. The device is checked here unless the jobs run elsewhere."""
    planned = experiments(config)
    if not planned:
        raise ConfigError(f"the config has no experiment section: add one of {', '.join(EXPERIMENTS)}")
    for name in planned:
        if name not in config:
            raise ConfigError(f"experiments lists {name!r}, but the config has no {name} section")
    if config["compute"]["jobs_run_here"]:
        try:
            check_compute(config["compute"]["device"], config["compute"]["precision"])
        except LmtuneError as exc:
            raise ConfigError(str(exc)) from None
    models = {"base_model": config["base_model"]}
    models.update({f"{name}.base_model": config[name]["base_model"] for name in planned if "base_model" in config[name]})
    for key, spec in models.items():
        try:
            source = parse_source(spec["source"])
            if source.kind == "hub" and not (workdir / MATERIALISED_MODELS_DIR / source.slug).exists():
                check_hub_model(source.location)
        except LmtuneError as exc:
            raise ConfigError(f"{key}: {exc}") from None
    for name in planned:
        registry()[name].check(config, workdir)
    if config.get("benchmarks", {}).get("tasks"):
        check_benchmark_settings(config, workdir)
    from lmtune.recipe import planned_specs  # the recipes read the strategies checked above

    specs_by_experiment = planned_specs(config, planned)
    specs = {key: spec for own in specs_by_experiment.values() for key, spec in own.items()}
    compute = config["compute"]
    try:
        if compute["processes"] > 1 or compute["fsdp"]:
            # A GPU count is checked where the jobs run: a login node has none.
            check_parallel(
                compute["processes"], compute["fsdp"], compute["device"] if compute["jobs_run_here"] else "cpu",
                {f"{key}: batch_size": spec.optimisation.batch_size for key, spec in specs.items()},
            )
            if not compute["jobs_run_here"]:
                check_fsdp(compute["fsdp"], compute["device"])
        check_liger_kernel(compute["liger_kernel"], compute["device"], here=compute["jobs_run_here"])
        check_compute_plan(config, specs_by_experiment, workdir)  # torch.compile's compiler, each model in the GPU's memory
    except LmtuneError as exc:
        raise ConfigError(str(exc)) from None
    for key, spec in specs.items():
        if spec.optimisation.max_steps > 0:
            try:
                check_warmup(spec.optimisation.warmup_steps, spec.optimisation.max_steps)
            except TrainingError as exc:
                raise ConfigError(f"{key}: {exc}") from None
