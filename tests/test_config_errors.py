"""Bad input stops the workflow before any job runs, with the setting or file named."""

import copy
import importlib.util
import re

import pytest
import yaml

from conftest import tiny_config

from conftest import run_snakemake
from slurm_cluster import slurm_cluster  # noqa: F401  (the fixture)


@pytest.fixture(scope="module")
def good_config(tmp_path_factory):
    return tiny_config()


def dry_run_error(tmp_path, config) -> str:
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(tmp_path, "-n", check=False)
    assert result.returncode != 0, result.stdout
    assert not (tmp_path / "results").exists()
    return result.stdout + result.stderr


def test_the_good_config_passes(tmp_path, good_config):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(good_config))
    assert run_snakemake(tmp_path, "-n").returncode == 0


@pytest.mark.parametrize(
    "path, value, message",
    [
        (["continual", "phases", "B", "batch_size"], "eight", r"'eight' is not of type 'integer'"),
        (["continual", "phases", "A", "learning_rate"], -1, r"-1 is less than or equal to the minimum of 0"),
        (["compute", "device"], "tpu", r"'tpu' is not one of"),
        (["continual", "phases", "A", "epoch"], 3, r"Additional properties are not allowed \('epoch' was unexpected\)"),
    ],
)
def test_schema_errors_name_the_setting(tmp_path, good_config, path, value, message):
    config = copy.deepcopy(good_config)
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    output = dry_run_error(tmp_path, config)
    assert "config" in output.lower()
    assert path[-1] in output or repr(value) in output
    assert re.search(message, output), output


def test_a_missing_corpus_is_named(tmp_path, good_config):
    config = copy.deepcopy(good_config)
    config["continual"]["domains"]["B"]["corpus"] = str(tmp_path / "nope.txt")
    output = dry_run_error(tmp_path, config)
    assert "continual.domains.B.corpus: corpus file" in output and "nope.txt does not exist" in output


def test_an_empty_or_non_utf8_corpus_is_named(tmp_path, good_config):
    config = copy.deepcopy(good_config)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    config["continual"]["domains"]["A"]["corpus"] = str(empty)
    assert "continual.domains.A.corpus" in dry_run_error(tmp_path, config)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Artículo 1. Comisión\n\nArtículo 2. Sesión\n".encode("latin-1"))
    config["continual"]["domains"]["A"]["corpus"] = str(latin1)
    assert "latin1.txt is not valid UTF-8" in dry_run_error(tmp_path, config)


def test_a_missing_model_folder_is_named(tmp_path, good_config):
    config = copy.deepcopy(good_config)
    config["base_model"]["source"] = "/no/such/model-folder"
    assert "model folder /no/such/model-folder does not exist" in dry_run_error(tmp_path, config)


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is not None, reason="mlflow is installed here")
def test_a_tracker_whose_package_is_missing_stops_the_workflow_where_it_loads(tmp_path, good_config):
    config = {**copy.deepcopy(good_config), "tracking": "mlflow"}
    assert "tracking 'mlflow' needs the Python package 'mlflow', which is not installed" in dry_run_error(tmp_path, config)


def test_an_unknown_domain_in_the_order_is_named(tmp_path, good_config):
    config = copy.deepcopy(good_config)
    config["continual"]["order"] = ["A", "C"]
    assert "continual.order names domain 'C'" in dry_run_error(tmp_path, config)


def test_the_seed_scale_config_plans_every_experiment(tmp_path):
    """The GPU-box config with hub models: a dry run builds the whole plan offline once
    the hub models are materialised and the device is one this machine has (the load
    checks both: see tests/test_fail_fast.py)."""
    from conftest import REPO

    (tmp_path / "resources").mkdir()
    for name in ["corpora", "java"]:
        (tmp_path / "resources" / name).symlink_to(REPO / "resources" / name)
    (tmp_path / "config.yaml").write_text((REPO / "config" / "seed-scale.yaml").read_text())
    for model in ["distilgpt2", "unsloth--mistral-7b-instruct-v0.2-bnb-4bit", "gpt2"]:
        (tmp_path / "resources/models" / model).mkdir(parents=True)
    # Its benchmark tasks read from the hub, which this machine does not reach.
    result = run_snakemake(tmp_path, "-n", "--forcerun", "prepare_base_model", "--config",
                           "compute={device: cpu, precision: fp32}", "benchmarks={tasks: []}")
    for job in ["prepare_base_model", "train_phase", "train_lora", "train_java_instruct", "score_java"]:
        assert re.search(rf"^{job}\s+\d+$", result.stdout, re.MULTILINE), job
    for model in ["distilgpt2", "unsloth--mistral-7b-instruct-v0.2-bnb-4bit", "gpt2"]:
        assert f"resources/models/{model}" in result.stdout


@pytest.mark.parametrize(
    "compute, message",
    [
        # The tiny setting's batch sizes (2, 4) do not split over 3 processes.
        ({"processes": 3}, r"continual.phases.A \(strategy \w+\): batch_size 2 does not split over 3 data-parallel processes"),
        ({"fsdp": True}, r"compute.fsdp is True but training runs on the CPU \(compute.device 'cpu'\): FSDP is for CUDA"),
        ({"processes": 0}, r"compute.processes: 0 is less than the minimum of 1"),
        ({"liger_kernel": True}, r"compute.liger_kernel is True but training runs on the CPU \(compute.device 'cpu'\): "
                                 r"Liger's kernels are Triton kernels for CUDA"),
    ],
)
def test_compute_settings_the_machine_cannot_run_are_named(tmp_path, good_config, compute, message):
    config = copy.deepcopy(good_config)
    config["compute"].update(compute)
    output = dry_run_error(tmp_path, config)
    assert re.search(message, output), output


@pytest.mark.slow
def test_a_partition_the_cluster_lacks_is_named_before_any_job(tmp_path, good_config, slurm_cluster, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SLURM_CONF", slurm_cluster.env["SLURM_CONF"])
    monkeypatch.setenv("PATH", slurm_cluster.env["PATH"])
    monkeypatch.setenv("LMTUNE_SLURM_PARTITION", "a100")
    output = dry_run_error(tmp_path, good_config)
    assert f"LMTUNE_SLURM_PARTITION is 'a100', but the cluster has no such partition; its partitions: {slurm_cluster.partition}" in output


# The instruct experiment's data is read whole when the workflow loads: a bad record stops
# it there, named by file, line and field, before any job.
@pytest.mark.parametrize(
    "records, message",
    [
        ('{"prompt": "a", "completion": "b"}\n{"prompt": "c"}\n',
         "instruct.data.train: data.jsonl line 2: field 'completion' is missing"),
        ('{"prompt": "a", "completion": "b"}\n\n{"prompt": "c", "completion": "  "}\n',
         "instruct.data.train: data.jsonl line 3: field 'completion' is empty: nothing to learn"),
        ('{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n'
         '{"messages": [{"role": "user", "content": "c"}, {"role": "asistant", "content": "d"}]}\n',
         "instruct.data.train: data.jsonl line 2: field messages[1].role is 'asistant', not one of system, user, assistant"),
        ('{"question": "a", "answer": "b"}\n',
         "instruct.data.train: data.jsonl line 1: a record of no known format (it has 'question', 'answer'); expected the "
         "fields 'messages' (chat); 'conversations' (sharegpt); 'instruction' and 'output' (alpaca); 'prompt' and "
         "'completion' (prompt_completion); instruct.data.format accepts auto, chat, sharegpt, alpaca, prompt_completion"),
    ],
    ids=["missing field", "empty completion", "unknown role", "unknown format"],
)
def test_bad_instruct_data_is_named_by_file_line_and_field(tmp_path, good_config, records, message):
    data = tmp_path / "data.jsonl"
    data.write_text(records, encoding="utf-8")
    config = copy.deepcopy(good_config)
    config["instruct"]["data"]["train"] = str(data)
    assert message in dry_run_error(tmp_path, config)


def test_alpaca_and_sharegpt_data_are_prepared_as_chat_records(tmp_path, good_config):
    """instruct.data.format names the records' format (auto: the first record's fields)."""
    import json

    from conftest import write_config

    alpaca = [{"instruction": f"Di {n}", "input": "" if n % 2 else "en cifras", "output": str(n)} for n in range(4)]
    sharegpt = [{"conversations": [{"from": "human", "value": "Hola"}, {"from": "gpt", "value": "¿Qué tal?"}]}]
    for name, records in (("alpaca.jsonl", alpaca), ("sharegpt.jsonl", sharegpt)):
        (tmp_path / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    config = copy.deepcopy(good_config)
    config["instruct"]["data"] = {"train": str(tmp_path / "alpaca.jsonl"), "validation": str(tmp_path / "sharegpt.jsonl")}
    (tmp_path / "sharegpt-named").mkdir()
    config["instruct"]["data"]["format"] = "sharegpt"
    assert ("instruct.data.train: alpaca.jsonl line 1: field 'conversations' is missing (the file is read as sharegpt data)"
            in dry_run_error(tmp_path / "sharegpt-named", config))
    config["instruct"]["data"]["format"] = "auto"
    write_config(tmp_path, config)
    run_snakemake(tmp_path, "results/instruct/data/train.jsonl", "results/instruct/data/validation.jsonl")
    read = {part: [json.loads(line) for line in (tmp_path / f"results/instruct/data/{part}.jsonl").read_text().splitlines()]
            for part in ("train", "validation")}
    assert read["train"] == [{"messages": [{"role": "user", "content": r["instruction"] + (f"\n{r['input']}" if r["input"] else "")},
                                           {"role": "assistant", "content": r["output"]}]} for r in alpaca]
    assert read["validation"] == [{"messages": [{"role": "user", "content": "Hola"}, {"role": "assistant", "content": "¿Qué tal?"}]}]


def test_chat_data_on_a_model_without_a_chat_template_and_packing_on_a_cpu_stop_at_load(tmp_path, good_config):
    from conftest import tiny_models

    for name in ("chat", "packing"):
        (tmp_path / name).mkdir()
    config = copy.deepcopy(good_config)
    config["instruct"]["base_model"] = {"source": str(tiny_models()["tiny-gpt2"])}
    assert "instruct.data.train is chat data (messages), but the tokenizer of" in dry_run_error(tmp_path / "chat", config)
    config = copy.deepcopy(good_config)
    config["instruct"]["packing"] = True
    assert "instruct.packing needs compute.device cuda (it is cpu)" in dry_run_error(tmp_path / "packing", config)
