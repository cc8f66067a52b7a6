"""Take a fine-tuned model away: a plain transformers folder (safetensors and the
tokenizer) that `AutoModelForCausalLM.from_pretrained` loads without peft or lmtune; a
LoRA adapter is merged into its base model first."""

from __future__ import annotations

from pathlib import Path

from lmtune.core import atomic
from lmtune.core.errors import ModelError
from lmtune.core.models import PRECISION_NAMES, copy_model_code, load_model, trusts_code, without_code_copy


def export_model(
    model_dir: str | Path, out_dir: str | Path, precision: str = "fp32", adapter_dir: str | Path | None = None
) -> Path:
    """Write the model in `model_dir`, with the adapter saved in `adapter_dir` (peft's
    save_pretrained) merged in where one is given, to `out_dir`, atomically, in
    `precision`. Without an adapter (full fine-tuning) the folder is already standard:
    it is written again in `precision`, so both kinds export alike.

    The merge is done in fp32 on the full-precision base, also for an adapter trained
    on a 4-bit base (QLoRA): merging into 4-bit weights would round the adapter away.
    Such a model then differs from the adapter on the 4-bit base by the base's rounding.
    The tokenizer is the adapter folder's where training saved one there, else the model's.
    """
    from transformers import AutoTokenizer

    from lmtune.core.models import PRECISIONS

    if precision not in PRECISION_NAMES:
        raise ModelError(f"export precision must be one of {', '.join(PRECISION_NAMES)}, got {precision!r}")
    tokenizer_dir = Path(model_dir)
    if adapter_dir is not None:
        adapter_dir = Path(adapter_dir)
        if not (adapter_dir / "adapter_config.json").is_file():
            raise ModelError(f"adapter folder {adapter_dir} has no adapter_config.json: not a saved peft adapter")
        if (adapter_dir / "tokenizer_config.json").is_file():
            tokenizer_dir = adapter_dir
    model = load_model(model_dir, device="cpu", precision="fp32")
    if adapter_dir is not None:
        from peft import PeftModel

        try:
            model = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise ModelError(f"cannot apply adapter {adapter_dir} to base model {model_dir}: {exc}") from exc
    # The adapter's copy of the base's tokenizer is the base's code to trust or not.
    tokenizer = without_code_copy(AutoTokenizer.from_pretrained(str(tokenizer_dir), trust_remote_code=trusts_code(model_dir)))
    model = model.to(PRECISIONS[precision])
    with atomic.directory(out_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        copy_model_code(model_dir, tmp)
    return Path(out_dir)
