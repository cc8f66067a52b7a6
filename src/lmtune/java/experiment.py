"""The Java experiment's declaration (lmtune.core.declaration): Java code generation, stage
1 fine-tuning the base model on Java snippets (autoregressive), stage 2 instruction-tuning
stage 1 on comment-to-code pairs, once per configured run."""

from __future__ import annotations

from pathlib import Path

from lmtune.core.errors import CorpusError, missing
from lmtune.core.declaration import Experiment, model_set_headline
from lmtune.core.schema import ConfigError
from lmtune.core.training_spec import TrainingSpec, training_spec

MEASURES = ("exact_match", "syntax_rate", "signature_rate", "functional_accuracy")


def check_java(config: dict, workdir: Path = Path(".")) -> None:
    from lmtune.java.tasks import FAMILIES

    from lmtune.java.corpus import jdk_source_zip, read_source

    section = config["java"]
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


def java_autoregressive(config: dict) -> TrainingSpec:
    training = config["java"]["autoregressive"]
    return training_spec(config, "Java stage 1 (autoregressive)", "blocks", training, config["seed"], block_size=training["block_size"])


def java_instruct(config: dict, run: str) -> TrainingSpec:
    return training_spec(config, f"Java stage 2, run {run}", "completions", config["java"]["instruct_runs"][run], config["seed"])


def training_specs(config: dict) -> dict[str, TrainingSpec]:
    """Stage 1, and stage 2 once per run."""
    return {
        "java.autoregressive": java_autoregressive(config),
        **{f"java.instruct_runs.{run}": java_instruct(config, run) for run in config["java"]["instruct_runs"]},
    }


def java_headline(metrics: dict) -> dict[str, float | None]:
    """From score_java's metrics: `generation` -> model -> split -> figures."""
    return model_set_headline("java", metrics["generation"], MEASURES)


EXPERIMENT = Experiment(
    name="java",
    order=2,
    check=check_java,
    training_specs=training_specs,
    metrics_file="java/metrics.json",
    headline=java_headline,
    in_cross_matrix=True,
)
