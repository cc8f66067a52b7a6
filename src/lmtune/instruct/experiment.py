"""The instruct experiment's declaration (lmtune.core.declaration): instruction tuning on
the user's own data. Not in the cross matrix: its data is the user's, not a benchmark of
the project."""

from __future__ import annotations

import json
from pathlib import Path

from lmtune.core.errors import LmtuneError
from lmtune.core.declaration import Experiment
from lmtune.core.models import base_model_setting, parse_source
from lmtune.core.schema import ConfigError
from lmtune.core.training_spec import TrainingSpec, lora_adapter, training_spec


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
    if (folder / "chat_template.jinja").is_file():
        return True
    config_file = folder / "tokenizer_config.json"
    try:
        return bool(json.loads(config_file.read_text(encoding="utf-8")).get("chat_template"))
    except (OSError, ValueError):
        return False


def instruct(config: dict) -> TrainingSpec:
    """A LoRA adapter where the section has `lora`, else full fine-tuning; completions
    packed where `packing` says so."""
    section = config["instruct"]
    return training_spec(
        config,
        "the instruct fine-tune",
        "completions",
        section["training"],
        config["seed"],
        adapter=lora_adapter(section["lora"]) if "lora" in section else None,
        packing=section["packing"],
    )


def instruct_headline(metrics: dict) -> dict[str, float | None]:
    """From score_instruct's metrics: validation loss, and the generation scores."""
    return {
        "instruct/eval_loss": metrics["validation"]["eval_loss"],
        "instruct/exact_match": metrics["generation"]["exact_match"],
        "instruct/chrf": metrics["generation"]["chrf"],
    }


EXPERIMENT = Experiment(
    name="instruct",
    order=3,
    check=check_instruct,
    training_specs=lambda config: {"instruct.training": instruct(config)},
    metrics_file="instruct/metrics.json",
    headline=instruct_headline,
    in_cross_matrix=False,
)
