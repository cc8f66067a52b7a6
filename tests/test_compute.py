"""The compute checks at load (lmtune.core.compute): torch.compile where it cannot build
kernels, and a model that cannot fit the GPU's memory, each stopped in one line before
any job; the memory floor itself, on the seeds' real architectures (their config.json,
no weights); and torch.compile through the Trainer, whose loss curve must be the eager one.

`compute.device: cuda` on a machine without CUDA is tests/test_fail_fast.py's, Liger on a
CPU tests/test_config_errors.py's."""

import re
import tempfile

import pytest

from conftest import run_snakemake, tiny_config, tiny_models
from lmtune.core.compute import GIB, check_fits_gpu, parameter_count, training_bytes
from lmtune.core.errors import ModelError
from lmtune.recipe import Adapter, TrainingSpec
from lmtune.core.training import TrainSettings


def seed_architectures(folder):
    """config.json of the seeds' three models, written from transformers' own classes with
    the published hyper-parameters (no weights)."""
    from transformers import GPT2Config, MistralConfig

    configs = {
        "distilgpt2": GPT2Config(n_layer=6),
        "gpt2": GPT2Config(),
        # Mistral-7B-Instruct-v0.2's config.json
        "mistral-7b": MistralConfig(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                                    num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=32768,
                                    rope_theta=1e6, sliding_window=None, tie_word_embeddings=False),
    }
    for name, config in configs.items():
        config.save_pretrained(folder / name)
    return {name: folder / name for name in configs}


@pytest.fixture(scope="module")
def seed_models(tmp_path_factory):
    return seed_architectures(tmp_path_factory.mktemp("seed-architectures"))


def spec(adapter: Adapter | None = None, processes: int = 1, fsdp: bool = False) -> TrainingSpec:
    return TrainingSpec(name="test", objective="completions", optimisation=TrainSettings(), seed=0, device="cuda",
                        precision="bf16", processes=processes, fsdp=fsdp, adapter=adapter)


LORA = Adapter(r=8, alpha=16, dropout=0.1, target_modules=("k_proj", "v_proj", "o_proj"))
QLORA = Adapter(r=8, alpha=16, dropout=0.1, target_modules=("k_proj", "v_proj", "o_proj"), quantize_4bit=True)


def test_parameter_counts_of_the_seeds_architectures_are_their_published_ones(seed_models):
    counts = {name: parameter_count(folder / "config.json") for name, folder in seed_models.items()}
    # Published: distilgpt2 82M, GPT-2 124M (tied embeddings counted once), Mistral-7B 7.24B.
    assert counts["distilgpt2"].total == 81_912_576
    assert counts["gpt2"].total == 124_439_808
    assert counts["mistral-7b"].total == 7_241_732_096
    # Everything but the embeddings and the output layer is in a linear layer of Mistral.
    assert counts["mistral-7b"].total - counts["mistral-7b"].quantisable == 2 * 32000 * 4096 + 65 * 4096


def test_the_memory_floor_of_each_way_of_training_a_7b_model(seed_models):
    count = parameter_count(seed_models["mistral-7b"] / "config.json")
    full, lora, qlora = (training_bytes(count, adapter, q) / GIB for adapter, q in ((False, False), (True, False), (True, True)))
    assert full == pytest.approx(7_241_732_096 * 16 / GIB)  # 107.9 GiB: no single GPU holds it
    assert lora == pytest.approx(7_241_732_096 * 4 / GIB)  # 27.0 GiB
    assert 4.2 < qlora < 4.4  # nf4 linear layers, fp32 embeddings and output layer
    assert training_bytes(count, False, False, processes=8, fsdp=True) == pytest.approx(full * GIB / 8)


def test_a_model_that_cannot_fit_a_made_up_gpu_is_named_in_one_line(seed_models):
    mistral = str(seed_models["mistral-7b"])
    check_fits_gpu("arithmetic.training", mistral, spec(QLORA), 16 * GIB)  # QLoRA fits a 16 GiB card
    with pytest.raises(ModelError) as full:
        check_fits_gpu("arithmetic.training", mistral, spec(), 80 * GIB)
    message = str(full.value)
    assert "\n" not in message
    assert message.startswith(f"arithmetic.training: {mistral} (7.24B parameters) needs at least 107.9 GiB for training")
    assert "more than the GPU's 80.0 GiB" in message
    with pytest.raises(ModelError, match=r"needs at least 27.0 GiB .*LoRA: the frozen base in fp32.* GPU's 24.0 GiB"):
        check_fits_gpu("arithmetic.training", mistral, spec(LORA), 24 * GIB)
    with pytest.raises(ModelError, match=r"needs at least 4.3 GiB .*QLoRA.* GPU's 4.0 GiB"):
        check_fits_gpu("arithmetic.training", mistral, spec(QLORA), 4 * GIB)
    # Sharded over 2 GPUs, a full fine-tune of GPT-2 (1.9 GiB) fits two 1 GiB cards.
    check_fits_gpu("java.autoregressive", str(seed_models["gpt2"]), spec(processes=2, fsdp=True), 1 * GIB)


def test_which_gpu_memory_the_check_uses():
    from lmtune.core.compute import gpu_memory_bytes

    given = {"device": "cuda", "jobs_run_here": False, "gpu_memory_gib": 40}
    assert gpu_memory_bytes(given) == 40 * GIB  # a cluster's: the config says what the jobs get
    assert gpu_memory_bytes({**given, "device": "cpu"}) is None  # training on a CPU: no GPU to fit
    assert gpu_memory_bytes({**given, "gpu_memory_gib": None}) is None  # a login node: nothing to ask
    assert gpu_memory_bytes({"device": "auto", "jobs_run_here": True, "gpu_memory_gib": None}) is None


def dry_run_error(workdir, config) -> str:
    from conftest import write_config

    write_config(workdir, config)
    result = run_snakemake(workdir, "-n", check=False)
    assert result.returncode != 0, result.stdout
    return result.stdout + result.stderr


def test_a_model_that_cannot_fit_the_jobs_gpu_stops_the_load(tmp_path):
    """A cluster's jobs on cuda, checked from a login node without a GPU: the GPU's memory
    is the config's (compute.gpu_memory_gib), 10 MiB here, which no tiny model's full
    fine-tune fits (3.2M parameters, 16 bytes each)."""
    config = tiny_config()
    config["compute"].update(device="cuda", jobs_run_here=False, gpu_memory_gib=0.01)
    output = dry_run_error(tmp_path, config)
    assert re.search(r"continual.phases.A \(strategy sequential\): .*tiny-llama \(3.2M parameters\) needs at least "
                     r"49 MiB for training \(full fine-tuning.*\), more than the GPU's 10 MiB", output), output


def test_torch_compile_without_a_cpu_compiler_stops_the_load(tmp_path, monkeypatch):
    # $CXX is where inductor looks for its compiler first: one that is not there.
    monkeypatch.setenv("CXX", "/no/such/g++")
    config = tiny_config()
    config["compute"]["torch_compile"] = True
    output = dry_run_error(tmp_path, config)
    assert ("compute.torch_compile is True but training runs on the CPU and its C++ compiler ('/no/such/g++', from $CXX) "
            "is not found") in output, output


def test_torch_compile_passes_the_load_where_the_cpu_has_a_compiler(tmp_path):
    config = tiny_config()
    config["compute"]["torch_compile"] = "default"
    from conftest import write_config

    write_config(tmp_path, config)
    assert "train_phase" in run_snakemake(tmp_path, "-n").stdout


def loss_curve(model_dir, torch_compile) -> list[float]:
    import datasets
    import torch

    from lmtune.core.models import load_model, load_tokenizer
    from lmtune.core.training import train_causal_lm

    ids = torch.randint(0, 1000, (8, 16), generator=torch.Generator().manual_seed(0)).tolist()
    data = datasets.Dataset.from_dict({"input_ids": ids, "attention_mask": [[1] * 16] * 8, "labels": ids})
    settings = TrainSettings(max_steps=4, batch_size=2, learning_rate=1e-3, save_steps=10**9, save_minutes=0)
    with tempfile.TemporaryDirectory() as tmp:
        train_causal_lm(load_model(model_dir), load_tokenizer(model_dir), data.with_format("torch"), f"{tmp}/model",
                        f"{tmp}/loss.csv", f"{tmp}/checkpoints", settings, seed=0, progress=False,
                        torch_compile=torch_compile)
        rows = open(f"{tmp}/loss.csv").read().splitlines()[1:]
    return [float(row.split(",")[2]) for row in rows]


@pytest.mark.slow
def test_the_compiled_loss_curve_is_the_eager_one():
    """compute.torch_compile through the Trainer on a CPU (inductor's C++ kernels): four
    steps of the tiny Llama. Inductor fuses and reorders fp32 sums, so the curves agree to
    1e-4 (seen here: 1e-6), not bit for bit. Not timed: the compile's first call alone
    takes about a minute on 2 cores."""
    model = tiny_models()["tiny-llama"]
    eager, compiled = loss_curve(model, False), loss_curve(model, True)
    assert len(eager) == 4
    assert compiled == pytest.approx(eager, abs=1e-4)
    assert eager[0] != eager[-1]  # the curve moved: four steps trained
