"""One training job spread over N local processes: data-parallel (DDP), or FSDP for a
model that does not fit one GPU.

The processes are started by torch's elastic launcher, the engine behind `torchrun`: it
gives each one RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT, and
transformers' Trainer, seeing them, joins the process group and trains data-parallel by
itself (accelerate shards the batches, DDP averages the gradients). What this module adds:

- `run_data_parallel(fn, *args, processes=N, device=...)`: run `fn(*args)` in N processes
  and return rank 0's result; with N = 1 it just calls `fn` here. `fn` must be importable
  in a fresh process (a module-level function of the library, not of a Snakemake script).
- `trainer_arguments(device, fsdp)`: the TrainingArguments keywords a process of such a
  group needs (the backend: gloo on CPU, nccl on CUDA; FSDP).
- `per_process_batch`: the per-process batch that keeps the global batch of the config.
- checks of the settings, cheap enough to run when the workflow loads, before any job.

The per-process batch is the global batch / N and every process draws from one seeded
permutation of the data (accelerate's seedable sampler under the Trainer's `data_seed`),
process r taking mini-batches r, r + N, ...: step k trains on the same examples whatever
N is, and the run matches a one-process run up to the order of floating-point sums.
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from typing import Any, Callable

from lmtune.core.errors import ParallelError
from lmtune.core.models import uses_cuda


def run_data_parallel(
    fn: Callable, *args, processes: int, device: str = "cpu", threads_per_process: int | None = None
) -> Any:
    """`fn(*args)` in `processes` local processes forming one process group; rank 0's
    return value. A process that raises stops all of them, and the error names it."""
    check_processes(processes, device)
    if processes == 1:
        return fn(*args)
    if getattr(fn, "__module__", None) == "__main__":
        raise ParallelError(
            f"run_data_parallel: {fn.__qualname__} is defined in the main script, which the processes do not "
            "import; define it in a module (the library)"
        )
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    if threads_per_process is None:  # the cores shared out, not each process taking all of them
        threads_per_process = max(1, (os.cpu_count() or 1) // processes)
    config = LaunchConfig(
        # torchrun --standalone: one node, a rendezvous store on a free local port.
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=processes,
        run_id=str(uuid.uuid4()),
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",
        max_restarts=0,  # a failed training is reported, not retried from scratch
        monitor_interval=0.1,
        start_method="spawn",  # neither CUDA nor torch's thread pools survive a fork
    )
    try:
        with _main_script_not_rerun():
            results = elastic_launch(config, _process)(fn, args, device, threads_per_process)
    except ChildFailedError as failed:
        rank, failure = failed.get_first_failure()  # the root cause: the first to fail
        if isinstance(failure.message, dict):  # the exception, recorded by the process
            cause = failure.message["message"]
        else:  # it died before it could record one
            cause = f"exit code {failure.exitcode}, no error recorded (its output is above)"
        raise ParallelError(f"process {rank} of {processes} failed: {cause}") from None
    return results[0]


@contextlib.contextmanager
def _main_script_not_rerun():
    """A spawned process runs the parent's main script again (as `__mp_main__`) when it
    was started from a file, so that functions defined there can be found. A workflow
    script has no `if __name__ == "__main__"` guard: each process would start the whole
    job again. `fn` comes from an importable module, so the script is not needed there."""
    main = sys.modules["__main__"]
    path = getattr(main, "__file__", None)
    if getattr(main, "__spec__", None) is not None or path is None:
        yield  # run with -m, or interactively: nothing is rerun
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def _process(fn: Callable, args: tuple, device: str, threads: int) -> Any:
    """One process of the group, before it runs `fn`: its share of the cores, and on
    CUDA its own GPU, so that a plain `.to("cuda")` lands there."""
    import logging

    import torch

    from lmtune.core.process import tune_job_process

    tune_job_process()  # a fresh process, with a job's imports, steps and exit
    # A fresh process: its log lines go where the parent's output goes (the job's log),
    # each marked with its rank.
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s %(levelname)s rank {os.environ['RANK']} %(name)s: %(message)s"
    )
    torch.set_num_threads(threads)
    if uses_cuda(device):
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    return fn(*args)


def world_size() -> int:
    """Processes in this process's group (1 outside one)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def trainer_arguments(device: str, fsdp: bool = False) -> dict:
    """TrainingArguments keywords for this process: nothing outside a process group and
    without FSDP, otherwise the backend (on a CPU accelerate would take MPI over gloo
    where torch has it) and FSDP's switch."""
    arguments: dict = {}
    if world_size() > 1:
        arguments["ddp_backend"] = "nccl" if uses_cuda(device) else "gloo"
        # Every trainable weight of a causal LM gets a gradient each step: DDP need not
        # search the graph for unused ones.
        arguments["ddp_find_unused_parameters"] = False
    if fsdp:
        # transformers' defaults: FSDP 2, one unit per decoder layer, full state dict on save.
        arguments["fsdp"] = True
    return arguments


def per_process_batch(batch_size: int, processes: int, setting: str = "batch_size") -> int:
    """The batch each of `processes` trains on, so that together they train on
    `batch_size` examples a step, as one process would."""
    if batch_size % processes:
        raise ParallelError(
            f"{setting} {batch_size} does not split over {processes} data-parallel processes; "
            f"use a multiple of {processes}"
        )
    return batch_size // processes


# --- Checks, run when the workflow loads ---


def check_processes(processes, device: str, setting: str = "compute.processes") -> None:
    """A process count below 1, or above the GPUs this machine has when training on CUDA
    (one process per GPU)."""
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ParallelError(f"{setting} is {processes!r}: it must be a whole number of processes, at least 1")
    if uses_cuda(device):
        check_gpu_count(processes, setting)


def check_gpu_count(requested: int, setting: str, available: int | None = None) -> None:
    """`requested` GPUs where this machine has fewer (`available`: torch's count)."""
    if available is None:
        import torch

        available = torch.cuda.device_count()
    if requested > available:
        raise ParallelError(
            f"{setting} is {requested}, but this machine has {available} CUDA device(s)"
            + ("" if available else " (torch sees none)")
        )


def check_fsdp(fsdp, device: str, setting: str = "compute.fsdp") -> None:
    """FSDP only on CUDA: on a CPU it would shard nothing worth sharding and its
    collectives would run over gloo."""
    if fsdp and not uses_cuda(device):
        raise ParallelError(
            f"{setting} is {fsdp!r} but training runs on the CPU (compute.device {device!r}): "
            "FSDP is for CUDA devices; set it to false"
        )


def check_parallel(processes, fsdp, device: str, batch_sizes: dict[str, int], prefix: str = "compute") -> None:
    """Every check of the parallel settings, as the workflow runs them at load:
    `batch_sizes` maps each training section's batch-size key path to its value."""
    check_processes(processes, device, f"{prefix}.processes")
    check_fsdp(fsdp, device, f"{prefix}.fsdp")
    for setting, batch_size in batch_sizes.items():
        per_process_batch(batch_size, processes, setting)
