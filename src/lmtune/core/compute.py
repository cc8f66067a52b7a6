"""What the compute settings ask of the machine, judged when the workflow loads, before any
job: `torch.compile` has the compiler it needs, and every training job's model fits the
GPU's memory at its precision.

The memory check is a floor, not a forecast: it counts the weights, gradients and
optimizer state a job must hold (from the model's parameter count, read from its
config.json on a weightless copy, never from its weights) and leaves activations out. A
job it stops cannot run; one it lets pass may still run out of memory on long batches.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from lmtune.core.errors import ModelError
from lmtune.core.models import MATERIALISED_MODELS_DIR, base_model_setting, parse_source

GIB = 2**30
# torch.compile modes (TrainingArguments.torch_compile_mode); `true` in the config is "default".
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
# Bytes per parameter. Training keeps fp32 weights whatever compute.precision says (the
# Trainer computes in it: mixed precision), and AdamW two fp32 moments per trained weight.
FP32, ADAM_STATES = 4, 8
PRECISION_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}
# An nf4 weight is half a byte; double quantisation adds about 0.127 bits of constants
# (QLoRA, Dettmers et al. 2023, section 2).
NF4_BYTES = 0.5 + 0.127 / 8


def compile_mode(setting) -> str | None:
    """compute.torch_compile as TrainingArguments' torch_compile_mode, None when off."""
    if setting is True:
        return "default"
    return setting or None


def check_torch_compile(setting, device: str, here: bool = True, key: str = "compute.torch_compile") -> None:
    """Raise ModelError when torch.compile cannot run where training runs: inductor needs
    a C++ compiler and Python's headers on a CPU, and Triton on CUDA. `here`: the jobs run
    on this machine (on a cluster they check their own node when they start)."""
    if not compile_mode(setting) or not here:
        return
    from lmtune.core.models import uses_cuda

    if uses_cuda(device):
        if importlib.util.find_spec("triton") is None:
            raise ModelError(f"{key} is {setting!r} but the triton package, which torch.compile needs on CUDA, is not installed")
        return
    # Inductor's CPU backend compiles C++ with $CXX, else g++ (torch._inductor.config.cpp.cxx).
    compiler = os.environ.get("CXX", "g++")
    if shutil.which(compiler) is None:
        raise ModelError(
            f"{key} is {setting!r} but training runs on the CPU and its C++ compiler ({compiler!r}"
            f"{', from $CXX' if 'CXX' in os.environ else ''}) is not found: torch.compile cannot build kernels here; "
            "install g++ or set it to false"
        )
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not headers.is_file():
        raise ModelError(
            f"{key} is {setting!r} but Python's headers ({headers}) are not installed: torch.compile cannot build "
            "kernels on the CPU (Debian: python3-dev); set it to false"
        )


# --- Memory ---


@dataclass(frozen=True)
class ParameterCount:
    total: int
    quantisable: int  # in the decoder's linear layers, the ones bitsandbytes puts in 4 bits
    prequantised: bool  # the folder's weights are 4-bit already (a bnb-4bit checkpoint)


def model_config_file(source: str, workdir: Path = Path(".")) -> Path | None:
    """The config.json of a base model source, where it can be had without weights: a
    local folder's own, a materialised copy's, or a hub model's (cache, then the hub);
    None where none can (a GGUF file, an unreachable hub)."""
    if (workdir / source / "config.json").is_file():  # a local folder (its weights were checked at load)
        return workdir / source / "config.json"
    found = parse_source(source)
    materialised = workdir / MATERIALISED_MODELS_DIR / found.slug / "config.json"
    if materialised.is_file():
        return materialised
    if found.kind != "hub":
        return None
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(found.location, "config.json"))
    except Exception:  # noqa: BLE001 - offline, gated, missing: the load check named what matters
        return None


def parameter_count(config_file: Path) -> ParameterCount:
    """Count a model's parameters on a weightless (meta) copy built from its config.json;
    tied embeddings count once. Pre-quantised weights count as the model they quantise."""
    config_file = Path(config_file).resolve()
    return _parameter_count(config_file, config_file.stat().st_mtime)


@functools.cache  # every phase of every strategy trains the same base: counted once per load
def _parameter_count(config_file: Path, modified: float) -> ParameterCount:
    import torch
    from torch import nn
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.pytorch_utils import Conv1D

    config = AutoConfig.from_pretrained(str(config_file.parent))
    quantisation = getattr(config, "quantization_config", None) or {}
    if not isinstance(quantisation, dict):
        quantisation = quantisation.to_dict()
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    output = model.get_output_embeddings()
    # transformers' bitsandbytes integration quantises linear layers and GPT-2's Conv1D
    # (linear layers stored transposed), but not the output layer nor the embeddings.
    linear = sum(
        module.weight.numel() for module in model.modules()
        if isinstance(module, (nn.Linear, Conv1D)) and module is not output
    )
    return ParameterCount(
        total=sum(p.numel() for p in model.parameters()),
        quantisable=linear,
        prequantised=bool(quantisation.get("load_in_4bit")),
    )


def training_bytes(count: ParameterCount, adapter: bool, quantise_4bit: bool, processes: int = 1, fsdp: bool = False) -> float:
    """The floor of a training job's GPU memory: full fine-tuning holds fp32 weights, their
    gradients and AdamW's two moments (16 bytes a parameter, sharded over the processes
    under FSDP); LoRA holds the frozen base (fp32, as lmtune.core.adapters loads it to
    train), QLoRA its linear layers in nf4 and the rest in fp32 (peft's
    prepare_model_for_kbit_training). The adapter itself is left out: well under 1 %."""
    if quantise_4bit or count.prequantised:
        return count.quantisable * NF4_BYTES + (count.total - count.quantisable) * FP32
    if adapter:
        return count.total * FP32
    full = count.total * (FP32 + FP32 + ADAM_STATES)
    return full / processes if fsdp else full


def gpu_memory_bytes(compute: dict) -> float | None:
    """The memory of the GPU a job gets: compute.gpu_memory_gib where set (a cluster's
    login node has no GPU to ask), else the first CUDA device's here; None on a CPU, and
    for device `auto`, which would import torch on every load to ask (a dry run stays
    fast; profiles/gpu names cuda)."""
    if compute["device"] == "cpu":
        return None
    if compute.get("gpu_memory_gib"):
        return compute["gpu_memory_gib"] * GIB
    if not compute["jobs_run_here"] or compute["device"].split(":")[0] != "cuda":
        return None
    import torch

    return float(torch.cuda.get_device_properties(0).total_memory)


def check_fits_gpu(key: str, model_source: str, spec, gpu_bytes: float, workdir: Path = Path(".")) -> None:
    """Raise ModelError when the training job `spec` (its adapter, quantisation, processes)
    cannot hold its model in `gpu_bytes`."""
    config_file = model_config_file(model_source, workdir)
    if config_file is None or not config_file.is_file():
        return
    count = parameter_count(config_file)
    quantised = spec.quantized or count.prequantised
    needed = training_bytes(count, spec.adapter is not None, quantised, spec.processes, spec.fsdp)
    if needed <= gpu_bytes:
        return
    how = (
        "QLoRA: nf4 linear layers, the rest fp32" if quantised
        else "LoRA: the frozen base in fp32" if spec.adapter
        else "full fine-tuning: fp32 weights, gradients and AdamW's two moments, 16 bytes a parameter"
        + (f", sharded over {spec.processes} processes" if spec.fsdp else "")
    )
    parameters = f"{count.total / 1e9:.2f}B" if count.total >= 1e9 else f"{count.total / 1e6:.1f}M"
    raise ModelError(
        f"{key}: {model_source} ({parameters} parameters) needs at least {_size(needed)} for training ({how}), "
        f"more than the GPU's {_size(gpu_bytes)}; use LoRA or QLoRA, FSDP over more GPUs, or a GPU with more memory"
    )


def _size(size: float) -> str:
    return f"{size / GIB:.1f} GiB" if size >= GIB else f"{size / 2**20:.0f} MiB"


def check_compute_plan(config: dict, specs: dict, workdir: Path = Path(".")) -> None:
    """The load-time checks of this module for a validated config and the specs of the
    training jobs it plans (experiment -> dotted config key -> its TrainingSpec, from
    lmtune.core.training_spec)."""
    compute = config["compute"]
    check_torch_compile(compute["torch_compile"], compute["device"], here=compute["jobs_run_here"])
    gpu_bytes = gpu_memory_bytes(compute)
    if gpu_bytes is None:
        return
    for experiment, own in specs.items():
        for key, spec in own.items():
            check_fits_gpu(key, base_model_setting(config, experiment)["source"], spec, gpu_bytes, workdir)


def log_peak_gpu_memory_at_exit(log) -> None:
    """Where a job used CUDA, its log ends with the peak GPU memory torch allocated and
    reserved in this process (Snakemake's `benchmark:` files record host memory only)."""
    import atexit
    import sys

    def report() -> None:
        torch = sys.modules.get("torch")  # a job that never imported torch used no GPU
        if torch is not None and torch.cuda.is_initialized():
            log.info("peak GPU memory: %.2f GiB allocated, %.2f GiB reserved",
                     torch.cuda.max_memory_allocated() / GIB, torch.cuda.max_memory_reserved() / GIB)

    atexit.register(report)


def describe(config_file: Path) -> dict:
    """A model's parameter counts, as printed by `python -m lmtune.core.compute FOLDER`."""
    count = parameter_count(config_file)
    return {"parameters": count.total, "in_linear_layers": count.quantisable, "prequantised": count.prequantised,
            **{f"training_gib_{name}": round(training_bytes(count, adapter, q) / GIB, 2)
               for name, adapter, q in (("full", False, False), ("lora", True, False), ("qlora", True, True))}}


if __name__ == "__main__":
    import sys

    for folder in sys.argv[1:]:
        print(folder, json.dumps(describe(Path(folder) / "config.json")))
