"""Data-parallel training in real local processes (gloo on the CPU), and the checks of
the parallel and SLURM settings run when the workflow loads."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from conftest import REPO
from lmtune.core.distributed import (
    check_fsdp,
    check_gpu_count,
    check_parallel,
    check_processes,
    per_process_batch,
    run_data_parallel,
    trainer_arguments,
)
from lmtune.core.errors import ClusterError, ParallelError
from lmtune.pipeline.slurm import check_partition, cluster_partitions, parse_partitions
from slurm_cluster import slurm_cluster  # noqa: F401  (the fixture)

BLOCK_SIZE = 16
GLOBAL_BATCH = 4
STEPS = 6
# Two processes sum the loss and the gradients of their halves of a batch, one process
# sums the whole batch at once: the same numbers added in another order, which changes
# the last bits of fp32 results. Adam then carries those differences into the weights.
# Measured here: at most 1e-6 apart in loss over 6 steps, where the loss moves by 0.03 or
# more from one step to the next.
LOSS_TOLERANCE = 1e-4


# --- Run in every process of a group; module-level, so that a spawned process imports it ---


def describe_process(threads_expected: int) -> dict:
    return {
        "rank": int(os.environ["RANK"]),
        "world_size": int(os.environ["WORLD_SIZE"]),
        "threads": torch.get_num_threads(),
        "threads_expected": threads_expected,
    }


def fail_in_rank_one() -> None:
    if os.environ["RANK"] == "1":
        raise ValueError("learning rate 3 is too high")


def die_in_rank_one() -> None:
    if os.environ["RANK"] == "1":
        os._exit(3)  # as a process killed for memory: no exception to record


def train_tiny_llama(model_dir: str, blocks_dir: str, out_dir: str, batch_size: int) -> dict:
    """A few steps of the workflow's own training (train_causal_lm) on the tiny Llama; the
    loss curve, and a digest of the trained weights of every process of the group."""
    import torch.distributed as dist

    from lmtune.core.blocks import load_blocks
    from lmtune.core.models import load_model, load_tokenizer
    from lmtune.core.training import TrainSettings, train_causal_lm

    # One folder for the group: rank 0 alone writes into it.
    folder = Path(out_dir)
    model = load_model(model_dir)
    train_causal_lm(
        model=model,
        tokenizer=load_tokenizer(model_dir),
        train_data=load_blocks(blocks_dir),
        out_dir=folder / "model",
        loss_log=folder / "loss.csv",
        checkpoint_dir=folder / "checkpoints",
        settings=TrainSettings(max_steps=STEPS, batch_size=batch_size, learning_rate=1e-2, save_steps=1000),
        seed=0,
        progress=False,
    )
    digest = weights_digest(model)
    in_group = dist.is_initialized()
    digests = [None] * (dist.get_world_size() if in_group else 1)
    if in_group:
        dist.all_gather_object(digests, digest)
    else:
        digests = [digest]
    return {
        "losses": pd.read_csv(folder / "loss.csv")["loss"].tolist(),
        "backend": dist.get_backend() if in_group else None,
        "digests": digests,
    }


def weights_digest(model) -> str:
    return hashlib.sha256(b"".join(p.detach().cpu().numpy().tobytes() for p in model.parameters())).hexdigest()


# --- The launcher ---


def test_rank_zeros_result_comes_back_from_a_group_of_two():
    result = run_data_parallel(describe_process, 1, processes=2, threads_per_process=1)
    assert result == {"rank": 0, "world_size": 2, "threads": 1, "threads_expected": 1}


def test_a_process_that_raises_fails_the_group_naming_it():
    with pytest.raises(ParallelError, match=r"^process 1 of 2 failed: ValueError: learning rate 3 is too high$"):
        run_data_parallel(fail_in_rank_one, processes=2, threads_per_process=1)


def test_a_process_that_dies_fails_the_group_with_its_exit_code():
    with pytest.raises(ParallelError, match=r"^process 1 of 2 failed: exit code 3, no error recorded"):
        run_data_parallel(die_in_rank_one, processes=2, threads_per_process=1)


def test_a_script_without_a_main_guard_runs_once(tmp_path):
    """As a Snakemake script: top-level code, run as a file. The processes run `fn`, not
    the script again."""
    script = tmp_path / "train.py"
    script.write_text(
        "import os\n"
        "from lmtune.core.distributed import run_data_parallel\n"
        "print('script body', os.getpid())\n"
        "print('rank 0', run_data_parallel(os.getpid, processes=2, threads_per_process=1))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.split("\n")
    bodies = [line for line in lines if line.startswith("script body")]
    (rank0,) = [line for line in lines if line.startswith("rank 0")]
    assert len(bodies) == 1, done.stdout
    assert rank0.split()[-1] != bodies[0].split()[-1]  # rank 0 is a process of its own


def test_a_function_of_the_main_script_is_refused_before_any_process_starts(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "from lmtune.core.distributed import run_data_parallel\n"
        "def train():\n"
        "    return 1\n"
        "run_data_parallel(train, processes=2)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert "ParallelError: run_data_parallel: train is defined in the main script" in done.stderr, done.stderr[-3000:]


def test_one_process_runs_here_without_a_group():
    assert run_data_parallel(os.getpid, processes=1) == os.getpid()


@pytest.mark.slow
def test_two_gloo_processes_train_as_one_process_with_the_whole_batch(tmp_path, tiny_model_dir):
    from lmtune.continual.corpus import read_corpus, split_paragraphs
    from lmtune.core.blocks import tokenize_to_dataset
    from lmtune.core.models import load_tokenizer

    paragraphs = split_paragraphs(read_corpus(REPO / "resources" / "corpora" / "dominio_a_ia.txt"))
    blocks = tokenize_to_dataset(paragraphs[:12], load_tokenizer(tiny_model_dir), BLOCK_SIZE)
    # Whole, unpadded batches only: with a short last batch, accelerate would fill the two
    # processes' batches up from the start of the data, and one process would not.
    blocks = blocks.select(range(STEPS * GLOBAL_BATCH))
    assert all(sum(mask) == BLOCK_SIZE for mask in blocks["attention_mask"])
    blocks.save_to_disk(str(tmp_path / "blocks"))
    common = (str(tiny_model_dir), str(tmp_path / "blocks"))

    one = run_data_parallel(train_tiny_llama, *common, str(tmp_path / "one"), GLOBAL_BATCH, processes=1)
    # The global batch both times: train_causal_lm gives each process its share.
    two = run_data_parallel(train_tiny_llama, *common, str(tmp_path / "two"), GLOBAL_BATCH, processes=2, threads_per_process=1)

    assert two["backend"] == "gloo" and len(two["digests"]) == 2
    assert len(one["losses"]) == len(two["losses"]) == STEPS
    assert two["losses"] == pytest.approx(one["losses"], abs=LOSS_TOLERANCE, rel=0)
    # The comparison could fail: from step to step the curve moves by far more than the
    # tolerance, so a run on other batches would leave it.
    steps_apart = min(abs(a - b) for a, b in zip(one["losses"], one["losses"][1:]))
    assert steps_apart > 100 * LOSS_TOLERANCE, one["losses"]
    # DDP kept the two replicas identical, bit for bit: one model, trained away from the base.
    assert two["digests"][0] == two["digests"][1]
    base = load_file(tiny_model_dir / "model.safetensors")
    trained = load_file(tmp_path / "two" / "model" / "model.safetensors")
    assert any(not torch.equal(trained[name], base[name]) for name in base)


# --- What the Trainer is given ---


def test_outside_a_group_the_trainer_gets_nothing_extra(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert trainer_arguments("cpu") == {}


def test_in_a_group_the_backend_follows_the_device(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert trainer_arguments("cpu")["ddp_backend"] == "gloo"
    assert trainer_arguments("cuda")["ddp_backend"] == "nccl"
    assert trainer_arguments("cuda", fsdp=True)["fsdp"] is True


def test_the_global_batch_is_shared_out_and_must_split_evenly():
    assert per_process_batch(8, 2) == 4
    with pytest.raises(ParallelError, match=r"^continual.phases.A.batch_size 6 does not split over 4 "):
        per_process_batch(6, 4, "continual.phases.A.batch_size")


# --- Checks when the workflow loads ---


@pytest.mark.parametrize("processes", [0, -1, 1.5, "2", True])
def test_a_process_count_below_one_or_not_whole_is_refused(processes):
    with pytest.raises(ParallelError, match=rf"^compute.processes is {re.escape(repr(processes))}: .* at least 1$"):
        check_processes(processes, "cpu")


def test_cpu_processes_are_not_limited_by_gpus():
    check_processes(4, "cpu")


def test_more_gpus_than_the_machine_has_is_refused():
    with pytest.raises(ParallelError, match=r"^compute.gpus is 4, but this machine has 2 CUDA device\(s\)$"):
        check_gpu_count(4, "compute.gpus", available=2)
    check_gpu_count(2, "compute.gpus", available=2)


@pytest.mark.skipif(torch.cuda.is_available(), reason="asks this machine, which must have no GPU")
def test_cuda_processes_are_checked_against_this_machines_gpus():
    with pytest.raises(ParallelError, match=r"^compute.processes is 1, but this machine has 0 CUDA device\(s\) \(torch sees none\)$"):
        check_processes(1, "cuda")


@pytest.mark.parametrize("device", ["cpu", "auto"] if not torch.cuda.is_available() else ["cpu"])
def test_fsdp_on_the_cpu_is_refused(device):
    with pytest.raises(ParallelError, match=rf"^compute.fsdp is True but training runs on the CPU \(compute.device '{device}'\)"):
        check_fsdp(True, device)
    check_fsdp(False, device)


def test_check_parallel_names_the_section_whose_batch_does_not_split():
    check_parallel(2, False, "cpu", {"arithmetic.training.batch_size": 2})
    with pytest.raises(ParallelError, match=r"^java.autoregressive.batch_size 3 does not split over 2 "):
        check_parallel(2, False, "cpu", {"arithmetic.training.batch_size": 2, "java.autoregressive.batch_size": 3})


# --- SLURM partitions ---

# `sinfo --all --noheader --format=%P` on a cluster of three partitions, gpu the default
# and listed twice (its nodes in two states).
SINFO_OUTPUT = "debug\ngpu*\ngpu*\nlong\n"


def test_sinfo_partitions_are_read_with_the_default_marked():
    assert parse_partitions(SINFO_OUTPUT) == (["debug", "gpu", "long"], "gpu")
    assert parse_partitions("") == ([], None)


def test_a_partition_the_cluster_lacks_is_refused_naming_those_it_has():
    available = parse_partitions(SINFO_OUTPUT)
    check_partition("long", available=available)
    check_partition(None, available=available)  # the cluster's default
    with pytest.raises(ClusterError, match=r"^LMTUNE_SLURM_PARTITION is 'a100', but the cluster has no such partition; "
                                           r"its partitions: debug, gpu \(default\), long$"):
        check_partition("a100", "LMTUNE_SLURM_PARTITION", available)


def test_without_sinfo_there_is_nothing_to_check(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert cluster_partitions() is None
    check_partition("anything")


@pytest.mark.slow
def test_the_partitions_of_a_real_cluster(slurm_cluster, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SLURM_CONF", slurm_cluster.env["SLURM_CONF"])
    assert cluster_partitions() == ([slurm_cluster.partition], slurm_cluster.partition)
    check_partition(slurm_cluster.partition)
    with pytest.raises(ClusterError, match=rf"its partitions: {slurm_cluster.partition} \(default\)$"):
        check_partition("gpu")



@pytest.mark.slow
def test_the_workflow_trains_a_phase_in_two_processes_as_in_one(tiny_run, tmp_path):
    """compute.processes: 2 through the real workflow (the training rule's one script,
    two gloo processes): phase A's loss curve is the one-process run's, and one model is
    written."""
    from conftest import PHASE_A, run_snakemake, tiny_config, write_config

    config = tiny_config()
    config = {key: config[key] for key in ("seed", "compute", "base_model", "continual")}
    config["continual"]["strategies"] = {"sequential": {"method": "sequential"}}
    config["continual"]["seeds"] = [0]
    config["compute"]["processes"] = 2
    write_config(tmp_path, config)
    run_snakemake(tmp_path, f"{PHASE_A}/train_loss.csv")
    two = pd.read_csv(tmp_path / PHASE_A / "train_loss.csv")
    one = pd.read_csv(tiny_run / PHASE_A / "train_loss.csv")
    assert len(two) == len(one) > 1
    assert (two["loss"] - one["loss"]).abs().max() < 1e-4, pd.concat([one["loss"], two["loss"]], axis=1)
    log = (tmp_path / "results/logs/train_phase/sequential/seed0/A.log").read_text()
    assert log.count("non-pad tokens in") == 1, "rank 0 alone reports and writes"
    assert (tmp_path / PHASE_A / "model" / "model.safetensors").exists()
