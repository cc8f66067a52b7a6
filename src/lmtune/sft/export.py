"""Take a fine-tuned model away: a LoRA adapter merged into its base model, written as a
plain transformers folder (safetensors and the tokenizer) that
`AutoModelForCausalLM.from_pretrained` loads without peft or lmtune."""

from __future__ import annotations

from pathlib import Path

from lmtune.core import atomic
from lmtune.core.errors import ModelError
from lmtune.core.models import PRECISION_NAMES, load_model


def export_merged_model(
    base_dir: str | Path, adapter_dir: str | Path, out_dir: str | Path, precision: str = "fp32"
) -> Path:
    """Merge the adapter saved in `adapter_dir` (peft's save_pretrained) into the base
    model in `base_dir` and write the result to `out_dir`, atomically, in `precision`.

    The merge is done in fp32 on the full-precision base, also for an adapter trained
    on a 4-bit base (QLoRA): merging into 4-bit weights would round the adapter away.
    Such a model then differs from the adapter on the 4-bit base by the base's rounding.
    The tokenizer is the adapter folder's where training saved one there, else the base's.
    """
    from peft import PeftModel
    from transformers import AutoTokenizer

    from lmtune.core.models import PRECISIONS

    adapter_dir = Path(adapter_dir)
    if precision not in PRECISION_NAMES:
        raise ModelError(f"export precision must be one of {', '.join(PRECISION_NAMES)}, got {precision!r}")
    if not (adapter_dir / "adapter_config.json").is_file():
        raise ModelError(f"adapter folder {adapter_dir} has no adapter_config.json: not a saved peft adapter")
    base = load_model(base_dir, device="cpu", precision="fp32")
    try:
        merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelError(f"cannot apply adapter {adapter_dir} to base model {base_dir}: {exc}") from exc
    tokenizer_dir = adapter_dir if (adapter_dir / "tokenizer_config.json").is_file() else Path(base_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    merged = merged.to(PRECISIONS[precision])
    with atomic.directory(out_dir) as tmp:
        merged.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    return Path(out_dir)
