"""The config, checked before any job starts: the schema's verdict in one short line, and
what a JSON schema cannot express (corpora readable, models findable, the device there)."""

from __future__ import annotations

from pathlib import Path

from lmtune.core.benchmarks import BenchmarkError, benchmark_tasks, check_benchmarks
from lmtune.core.compute import check_compute_plan
from lmtune.core.sources import check_corpus, hub_unreachable
from lmtune.core.errors import CorpusError, LmtuneError, TrainingError, missing
from lmtune.core.distributed import check_fsdp, check_parallel
from lmtune.core.models import (
    MATERIALISED_MODELS_DIR,
    base_model_setting,
    check_compute,
    check_hub_model,
    check_liger_kernel,
    parse_source,
)
from lmtune.continual.strategies import StrategyError, check_strategy
from lmtune.core.schema import ConfigError
from lmtune.core.training import check_warmup


EXPERIMENTS = ("continual", "arithmetic", "java", "instruct")


def experiments(config: dict) -> list[str]:
    """The experiments to run: `experiments` where the config lists them (so that
    `--config experiments=[arithmetic]` runs one), else every one it has a section for."""
    return list(config.get("experiments") or [name for name in EXPERIMENTS if name in config])


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
        try:
            # Quick checks only on a large corpus (lmtune.core.sources.check_corpus); the
            # split job reads it whole, before any tokenization.
            check_corpus(spec["corpus"], workdir)
        except CorpusError as exc:
            raise ConfigError(f"continual.domains.{domain}.corpus: {exc}") from None


def check_benchmark_settings(config: dict, planned: list[str], workdir: Path) -> None:
    try:
        check_benchmarks(config["benchmarks"], hub_unreachable, workdir / ".snakemake" / "lmtune")
    except BenchmarkError as exc:
        raise ConfigError(str(exc)) from None
    if "continual" in planned:
        # A task's figures are named as a domain's are (forgetting_<name>, ...).
        for index, name in enumerate(benchmark_tasks(config["benchmarks"])):
            if name in config["continual"]["domains"]:
                raise ConfigError(
                    f"benchmarks.tasks[{index}].task: task {name!r} has the name of a continual domain; rename one"
                )


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
    if "continual" in planned:
        check_continual(config["continual"], workdir)
    if config.get("benchmarks", {}).get("tasks"):
        check_benchmark_settings(config, planned, workdir)
    from lmtune.recipe import planned_specs  # the recipes read the strategies checked above

    specs = planned_specs(config, planned)
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
        check_compute_plan(config, specs, workdir)  # torch.compile's compiler, each model in the GPU's memory
    except LmtuneError as exc:
        raise ConfigError(str(exc)) from None
    for key, spec in specs.items():
        if spec.optimisation.max_steps > 0:
            try:
                check_warmup(spec.optimisation.warmup_steps, spec.optimisation.max_steps)
            except TrainingError as exc:
                raise ConfigError(f"{key}: {exc}") from None
    if "arithmetic" in planned:
        check_arithmetic(config["arithmetic"]["data"])
    if "java" in planned:
        check_java(config["java"], workdir)
    if "instruct" in planned:
        check_instruct(config, workdir)


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
    from lmtune.java.tasks import FAMILIES

    from lmtune.java.corpus import jdk_source_zip, read_source

    corpus = section["corpus"]
    for source in corpus["sources"]:
        path = workdir / source
        if source == "jdk":
            if jdk_source_zip() is None:
                raise ConfigError("java.corpus.sources names 'jdk', but this JDK has no lib/src.zip (Debian: openjdk-17-source)")
        elif not path.exists():
            raise ConfigError(f"java.corpus.sources: {source} {missing(path)}")
        elif path.suffix == ".jsonl":  # cheap to read whole: a broken line is named now, not when its job runs
            try:
                if not read_source(str(path)):
                    raise CorpusError(f"{source} holds no snippet")
            except (CorpusError, OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"java.corpus.sources: {exc}") from None
        elif path.suffix == ".zip":
            import zipfile

            if not zipfile.is_zipfile(path):
                raise ConfigError(f"java.corpus.sources: {source} is not a readable .zip archive")
    if corpus["min_chars"] > corpus["max_chars"]:
        raise ConfigError(f"java.corpus: min_chars ({corpus['min_chars']}) is above max_chars ({corpus['max_chars']})")
    for family in section["instructions"].get("families") or []:
        if family not in FAMILIES:
            raise ConfigError(f"java.instructions.families: unknown family {family!r}; known: {', '.join(FAMILIES)}")
    check_java_sampling(section["generation"])


def check_java_sampling(generation: dict) -> None:
    """Greedy decoding gives one answer: more samples, or a top_p, need a temperature; and
    pass@k needs k samples at least."""
    samples, temperature, top_p = generation["samples"], generation["temperature"], generation["top_p"]
    if temperature == 0 and samples > 1:
        raise ConfigError(
            f"java.generation.samples is {samples}, but temperature 0 is greedy decoding, the same answer each time: "
            "set java.generation.temperature above 0 (e.g. 0.8), or samples to 1"
        )
    if temperature == 0 and top_p < 1:
        raise ConfigError(
            f"java.generation.top_p ({top_p}) applies only to sampling, and temperature 0 is greedy decoding: "
            "set top_p to 1, or a temperature above 0"
        )
    above = [k for k in generation["pass_at_k"] if k > samples]
    if above:
        raise ConfigError(
            f"java.generation.pass_at_k: k = {', '.join(map(str, above))} is above java.generation.samples ({samples}); "
            "pass@k needs k <= n"
        )


def check_instruct(config: dict, workdir: Path = Path(".")) -> None:
    """The data files read (every record checked: a bad one is named by file, line and
    field before any job runs), the split leaves examples on both sides, both files have
    one shape, chat data has a chat template where the model folder is there to ask,
    and packing has a CUDA device."""
    from lmtune.instruct.data import Conversation, read_examples, split_examples

    section = config["instruct"]
    data = section["data"]
    examples = {}
    for part in ("train", "validation"):
        if part in data:
            try:
                examples[part] = read_examples(workdir / data[part], data["format"])
            except LmtuneError as exc:
                raise ConfigError(f"instruct.data.{part}: {exc}") from None
    if "validation" not in examples:
        try:
            split_examples(examples["train"], data["validation_fraction"], data["seed"])
        except LmtuneError as exc:
            raise ConfigError(f"instruct.data.validation_fraction: {exc}") from None
    chat = {part: isinstance(found[0], Conversation) for part, found in examples.items()}
    if len(set(chat.values())) > 1:
        raise ConfigError(
            "instruct.data: train and validation differ in shape ("
            + ", ".join(f"{part}: {'chat' if is_chat else 'prompt/completion'}" for part, is_chat in chat.items())
            + ")"
        )
    source = parse_source(base_model_setting(config, "instruct")["source"])
    folder = workdir / source.location
    if chat["train"] and source.kind == "folder" and folder.is_dir() and not has_chat_template(folder):
        raise ConfigError(
            f"instruct.data.train is chat data (messages), but the tokenizer of {source.location} has no chat "
            "template; use prompt/completion data, or a model whose tokenizer has one"
        )
    if section["packing"]:
        device = config["compute"]["device"]
        if device == "auto" and config["compute"]["jobs_run_here"]:
            from lmtune.core.models import resolve_device

            device = resolve_device(device).type
        if device != "cuda":
            raise ConfigError(
                f"instruct.packing needs compute.device cuda (it is {config['compute']['device']}"
                + (f", here {device}" if config["compute"]["device"] == "auto" else "")
                + "); on a CPU batches are grouped by length: set packing to false"
            )


def has_chat_template(folder: Path) -> bool:
    """Whether a transformers model folder's tokenizer has a chat template, from its files
    (transformers 5 writes chat_template.jinja; older folders keep it in tokenizer_config.json)."""
    import json

    if (folder / "chat_template.jinja").is_file():
        return True
    config_file = folder / "tokenizer_config.json"
    try:
        return bool(json.loads(config_file.read_text(encoding="utf-8")).get("chat_template"))
    except (OSError, ValueError):
        return False
