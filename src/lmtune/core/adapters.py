"""LoRA and QLoRA (4-bit base) set-up, as peft documents it."""

from __future__ import annotations

from pathlib import Path

from lmtune.core.models import PRECISIONS, check_model_folder, load_model, resolve_device


def quantization_config(precision: str):
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=PRECISIONS[precision],
    )


def load_base(path: str | Path, device: str, precision: str, quantize_4bit: bool):
    """The frozen base model, optionally quantised to 4-bit nf4 (CUDA or x86 CPU)."""
    if not quantize_4bit:
        return load_model(path, device=device, precision="fp32")
    from transformers import AutoModelForCausalLM

    check_model_folder(path)
    torch_device = resolve_device(device)
    return AutoModelForCausalLM.from_pretrained(
        str(path),
        quantization_config=quantization_config(precision),
        dtype=PRECISIONS[precision],
        device_map={"": torch_device.index or 0} if torch_device.type == "cuda" else "cpu",
        use_safetensors=True,
    )


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


def load_adapted(base_path, adapter_path, device: str, precision: str, quantize_4bit: bool):
    """The base model with a saved adapter, for evaluation."""
    from peft import PeftModel

    base = load_base(base_path, device, precision, quantize_4bit)
    return PeftModel.from_pretrained(base, str(adapter_path))
