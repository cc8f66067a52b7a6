"""LoRA and QLoRA (4-bit base) set-up, as peft documents it, and the two ways a job loads
a model: to train it, or to evaluate and generate with it, each honouring the compute
precision."""

from __future__ import annotations

from pathlib import Path

from lmtune.core import models  # PRECISIONS read through the module: torch on first use, not at workflow load
from lmtune.core.models import check_model_folder, load_model, resolve_device


def unused_libraries(adapter: bool, quantized: bool) -> tuple[str, ...]:
    """What a job without a LoRA adapter or a 4-bit base does not need of what transformers'
    Trainer imports whenever it is installed: peft, and bitsandbytes (peft imports it, and
    it brings most of torch's inductor). Left out (lmtune.core.process.leave_out), a job
    starts about 1 CPU second sooner (benchmarks/job_startup.py)."""
    return (*(() if adapter else ("peft",)), *(() if quantized else ("bitsandbytes",)))


def quantization_config(precision: str):
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=models.PRECISIONS[precision],
    )


def load_quantized(path: str | Path, device: str, precision: str):
    """The base model quantised to 4-bit nf4 (CUDA or x86 CPU), computing in `precision`."""
    from transformers import AutoModelForCausalLM

    check_model_folder(path)
    torch_device = resolve_device(device)
    return AutoModelForCausalLM.from_pretrained(
        str(path),
        quantization_config=quantization_config(precision),
        dtype=models.PRECISIONS[precision],
        device_map={"": torch_device.index or 0} if torch_device.type == "cuda" else "cpu",
        use_safetensors=True,
        trust_remote_code=models.trusts_code(path),
    )


def load_for_training(path: str | Path, device: str, precision: str, quantize_4bit: bool = False):
    """A model to train. Its weights stay fp32 and the Trainer computes in `precision`
    (mixed precision: fp32 master weights); a 4-bit base is frozen and computes in it."""
    if quantize_4bit:
        return load_quantized(path, device, precision)
    return load_model(path, device=device, precision="fp32")


def load_for_inference(
    path: str | Path, device: str, precision: str, adapter: str | Path | None = None, quantize_4bit: bool = False
):
    """A model to evaluate or generate with, its weights in `precision` (or a 4-bit base
    computing in it), with a saved adapter on top where one is given."""
    model = load_quantized(path, device, precision) if quantize_4bit else load_model(path, device=device, precision=precision)
    if adapter is None:
        return model
    from peft import PeftModel

    adapted = PeftModel.from_pretrained(model, str(adapter))
    # peft keeps adapter weights in fp32 by default; the whole model computes in `precision`.
    return adapted if quantize_4bit else adapted.to(models.PRECISIONS[precision])


def add_lora(model, settings: dict, quantized: bool, seed: int):
    """Wrap `model` with trainable LoRA adapters; the base weights stay frozen.

    The adapters' A matrices start random: seeding here makes the same seed give the
    same adapter, and so the same training run.
    """
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import set_seed

    set_seed(seed)
    if quantized:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    config = LoraConfig(
        task_type="CAUSAL_LM",
        r=settings["r"],
        lora_alpha=settings["alpha"],
        lora_dropout=settings["dropout"],
        target_modules=list(settings["target_modules"]),
    )
    return get_peft_model(model, config)
