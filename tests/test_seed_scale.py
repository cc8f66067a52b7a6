"""The seeds' setting (config/seed-scale.yaml) on tiny random models of the seeds' own three
architectures, through the real workflow on a CPU, prepared by the GPU check's own steps
(benchmarks/gpu_check.py: tokenizers, models, overlay): what benchmarks/gpu_check.sh runs
on a GPU at full size, so that the GPU run meets only what is CUDA's own.

On a CPU the arithmetic LoRA keeps the seed's QLoRA (bitsandbytes runs nf4 on x86 CPUs);
compute is fp32 (bf16 buys nothing on these CPUs) and the data and generation lengths are
the tiny setting's."""

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

from conftest import REPO, build_once

GPU_CHECK = REPO / "benchmarks" / "gpu_check.py"


def gpu_check_module():
    sys.path.insert(0, str(GPU_CHECK.parent))
    spec = importlib.util.spec_from_file_location("gpu_check", GPU_CHECK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gpu_check = gpu_check_module()


@pytest.fixture(scope="session")
def seed_models() -> Path:
    """The three tiny models and the tokenizers, built once (kept in the temporary folder
    under a hash of the builder and the torch and transformers versions, as the tiny
    setting's models are)."""
    import torch
    import transformers

    key = hashlib.sha256(GPU_CHECK.read_bytes() + f"{torch.__version__} {transformers.__version__}".encode()).hexdigest()

    def build(folder: Path) -> None:
        gpu_check.save_tokenizers(folder / "tokenizers")
        gpu_check.build_models(folder / "models", "tiny", "cpu", folder / "tokenizers")

    return build_once(Path(tempfile.gettempdir()) / f"lmtune-seed-models-{key[:16]}", build)


def test_the_tokenizers_are_the_seeds_own(seed_models):
    from transformers import AutoTokenizer

    gpt2 = AutoTokenizer.from_pretrained(str(seed_models / "tokenizers/gpt2"))
    mistral = AutoTokenizer.from_pretrained(str(seed_models / "tokenizers/mistral"))
    assert len(gpt2) == 50257 and gpt2("Hello world").input_ids == [15496, 995]
    # Mistral-7B-Instruct-v0.2's ids: <s> [INST] ... [/INST]
    assert len(mistral) == 32000
    assert mistral("[INST] 33 es igual a [/INST]").input_ids[:4] == [1, 733, 16289, 28793]


def test_the_tiny_models_have_the_seeds_architectures(seed_models):
    configs = {name: json.loads((seed_models / "models" / name / "config.json").read_text()) for name in gpu_check.MODELS}
    assert [configs[name]["model_type"] for name in gpu_check.MODELS] == ["gpt2", "gpt2", "mistral"]
    assert configs["distilgpt2"]["n_layer"] * 2 == configs["gpt2"]["n_layer"]  # distilgpt2: half GPT-2's layers
    assert configs["mistral-7b-instruct-v0.2"]["vocab_size"] == 32000
    # Saved in nf4, as the seeds' unsloth/mistral-7b-instruct-v0.2-bnb-4bit is.
    assert configs["mistral-7b-instruct-v0.2"]["quantization_config"]["bnb_4bit_quant_type"] == "nf4"
    assert configs["mistral-7b-instruct-v0.2"]["num_key_value_heads"] < configs["mistral-7b-instruct-v0.2"]["num_attention_heads"]


def test_the_overlay_caps_every_training_and_points_at_the_models(seed_models, tmp_path):
    """Read over config/seed-scale.yaml as Snakemake merges config files, every training
    job the plan holds has a max_steps cap and every experiment its random model."""
    import yaml

    from lmtune.core.schema import check_schema, fill_defaults
    from lmtune.experiments import config_schema
    from lmtune.recipe import planned_specs
    from snakemake.utils import update_config

    models = {name: seed_models / "models" / name for name in gpu_check.MODELS}
    for scale in ("gpu", "cpu"):
        config = yaml.safe_load((REPO / "config.yaml").read_text())
        for layer in (yaml.safe_load(gpu_check.SEED_CONFIG.read_text()), gpu_check.overlay(models, scale)):
            update_config(config, layer)
        check_schema(config, config_schema())
        fill_defaults(config, config_schema())
        specs = {key: spec for own in planned_specs(config, ["continual", "arithmetic", "java"]).values() for key, spec in own.items()}
        assert specs and all(0 < spec.optimisation.max_steps <= 30 for spec in specs.values()), specs
        assert specs["arithmetic.training"].quantized  # the seed's QLoRA, on the CPU too
        assert config["arithmetic"]["base_model"]["source"].endswith("mistral-7b-instruct-v0.2")
        assert config["java"]["base_model"]["source"].endswith("gpt2")
        assert config["base_model"]["source"].endswith("distilgpt2")
        # The seeds' own settings survive the overlay: batch 2 for the LoRA, blocks of 128.
        assert specs["arithmetic.training"].optimisation.batch_size == 2
        assert config["continual"]["phases"]["A"]["block_size"] == 128


# What the CPU run builds: the continual phases on distilgpt2's layout, the seed's QLoRA
# on Mistral's, its answers generated and scored. Not Java (GPT-2's layout) nor the cross
# matrix: the tiny setting's run covers their rules on the same layout (its tiny GPT-2 is
# a GPT-2), and each further job costs this test some 15 s of starting Python and torch.
TARGETS = ["results/continual/sequential/seed0/B/model", "results/arithmetic/metrics.json"]


@pytest.fixture(scope="module")
def seed_scale_run(seed_models, tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """benchmarks/gpu_check.sh in its CPU mode (GPU_CHECK_CPU): the working folder, the
    files it wrote for $OUT, and the script's own result."""
    folder = tmp_path_factory.mktemp("seed-scale")
    workdir, out = gpu_check.seed_scale_folder(folder / "run"), folder / "out"
    environment = {**os.environ, "GPU_CHECK_CPU": "1", "GPU_CHECK_WORKDIR": str(workdir), "GPU_CHECK_TMP": str(folder),
                   "GPU_CHECK_MODELS": str(seed_models / "models"), "GPU_CHECK_TARGETS": " ".join(TARGETS),
                   "GPU_CHECK_SECONDS": "1500", "OUT": str(out), "PYTHON": sys.executable, "PYTHONHASHSEED": "0"}
    script = subprocess.run(["bash", str(REPO / "benchmarks/gpu_check.sh"), "workflow"], env=environment,
                            capture_output=True, text=True, timeout=1800)
    return workdir, out, script


@pytest.mark.slow
def test_the_seed_scale_setting_runs_on_tiny_models_of_the_seeds_architectures(seed_scale_run):
    workdir, out, script = seed_scale_run
    assert script.returncode == 0, script.stdout[-5000:] + script.stderr[-5000:]
    assert "snakemake exit status 0" in script.stdout, script.stdout[-5000:]
    results = workdir / "results"
    for target in TARGETS:
        assert (workdir / target).exists(), target
    lora_log = (results / "logs/train_lora.log").read_text()
    # The seed's QLoRA on the Mistral layout: the spec the job ran, and peft's count.
    assert "quantize_4bit=True" in lora_log and "batch_size=2" in lora_log
    assert re.search(r"LoRA: \d+ of \d+ parameters train", lora_log)
    assert json.loads((results / "arithmetic/metrics.json").read_text())
    # The capped trainings ran their caps (continual 2 steps).
    assert len((results / "continual/sequential/seed0/B/train_loss.csv").read_text().splitlines()) == 1 + 2


@pytest.mark.slow
def test_the_script_brings_back_the_job_table_logs_and_metrics(seed_scale_run):
    workdir, out, _ = seed_scale_run
    rows = gpu_check.summary(workdir / "results")
    jobs = {row["job"] for row in rows}
    assert {"train_lora", "train_phase/sequential/seed0/A", "train_phase/sequential/seed0/B",
            "generate_arithmetic_answers/lora"} <= jobs
    assert all(row["seconds"] > 0 and float(row["max_rss_mb"]) > 0 for row in rows)
    assert all(row["gpu_allocated_gib"] == "" for row in rows)  # no CUDA here: no GPU line in any log
    # What comes back from a GPU machine: few files, none in a deep folder.
    assert sorted(path.name for path in out.iterdir()) == ["gpu_check.log", "jobs.tsv", "results.tar.gz"]
    assert len((out / "jobs.tsv").read_text().splitlines()) == 1 + len(rows)
    with tarfile.open(out / "results.tar.gz") as archive:
        names = archive.getnames()
    assert "results/logs/train_lora.log" in names and "results/arithmetic/metrics.json" in names
    assert "results/benchmarks/train_lora.tsv" in names and any(n.startswith(".snakemake/log/") for n in names)
    assert not any(n.endswith(".safetensors") for n in names)  # the models stay behind
