"""What every workflow script does first: check it runs the checkout's library, and send
its output to the job's log file."""

from __future__ import annotations

import atexit
import ctypes
import gc
import logging
import os
import sys
import traceback
from pathlib import Path

from lmtune.core.compute import log_peak_gpu_memory_at_exit
from lmtune.core.errors import LmtuneError
from lmtune.core.fingerprint import content_hash

# Lines of a failed job's log shown on the console.
LOG_TAIL_LINES = 25
# A job's cyclic garbage collector: a first generation of 50,000 objects, not 700 (see
# tune_garbage_collector).
GC_THRESHOLDS = (50_000, 50, 50)


def start_job(snakemake) -> logging.Logger:
    """Redirect stdout/stderr (progress bars, warnings, tracebacks) to `log[0]`; a failure
    also prints its message and the log's last lines on the console.

    Also give torch the threads Snakemake granted the job (the rule's `threads`), so
    parallel jobs do not oversubscribe the cores. A light job never imports torch for it:
    the thread count is set in the environment that a later import of torch reads.
    """
    check_library(snakemake)
    tune_job_process()
    log_file = open(snakemake.log[0], "w", buffering=1, encoding="utf-8")
    console = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)
    # At the descriptor level too, so that what processes started by the job write (the
    # processes of a data-parallel training) lands in the log as well.
    sys.stdout.flush(), sys.stderr.flush()
    os.dup2(log_file.fileno(), 1)
    os.dup2(log_file.fileno(), 2)
    sys.stdout = sys.stderr = log_file

    def report_failure(kind, error, trace):
        traceback.print_exception(kind, error, trace, file=log_file)
        log_file.flush()
        tail = Path(snakemake.log[0]).read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_TAIL_LINES:]
        print(f"{snakemake.rule} failed: {kind.__name__}: {error}", file=console)
        print(f"--- last lines of {snakemake.log[0]} ---", *tail, "---", sep="\n", file=console, flush=True)

    sys.excepthook = report_failure
    logging.basicConfig(
        stream=log_file,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    threads = max(1, int(snakemake.threads))
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)
    if "torch" in sys.modules:  # imported by the script already: its pools exist
        sys.modules["torch"].set_num_threads(threads)
    log_peak_gpu_memory_at_exit(logging.getLogger(f"lmtune.{snakemake.rule}"))
    return logging.getLogger(f"lmtune.{snakemake.rule}")


def check_library(snakemake) -> None:
    """Stop at once if this job imported an lmtune other than the one in the workflow's
    checkout (workflow/scripts/lmtune links to src/lmtune): two clones sharing one
    environment would otherwise run each other's code."""
    if snakemake.scriptdir is None:
        return
    expected = (Path(snakemake.scriptdir) / "lmtune").resolve()
    imported = Path(__file__).resolve().parents[1]  # src/lmtune
    if imported != expected:
        raise LmtuneError(
            f"this job imported lmtune from {imported}, not from the workflow's checkout {expected}; "
            "run the workflow with its own Snakefile (it puts src/ first on PYTHONPATH) or "
            "reinstall the package from this checkout"
        )


def tune_garbage_collector() -> None:
    """Make a job's start and end cheaper (and Snakemake's, which calls it too): most of
    a short job's time is importing torch, transformers and peft (half a million
    long-lived objects) and tearing them down again.

    With Python's default thresholds the cyclic collector scans that growing heap over
    and over while it is imported, and once more in full at exit, although none of it is
    garbage: a quarter of a short job's time (benchmarks/job_startup.py). So the objects
    alive now are frozen (never scanned again), later collections come less often, and
    what is alive at exit is frozen too: the process ends without the final scan.
    Garbage is still collected while the process works, and files and logs are closed
    by the code that opened them, not by the collector.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    atexit.register(gc.freeze)


# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4


def tune_memory_allocator() -> None:
    """Keep the memory a training step frees for the next step, rather than hand it back
    to the system and fault it in again page by page.

    glibc serves every block over 32 MiB with a fresh mmap and unmaps it when freed; a
    training step's largest tensors (the logits alone: 200 MB at batch 8 x 128 over a
    49,152-word vocabulary) are such blocks. A full fine-tuning step of SmolLM2-135M on 2
    cores took about 300,000 minor page faults, and a fifth of its time
    (benchmarks/throughput.py). Served from the heap, which is never trimmed, they reuse
    the same pages from the second step on: no faults, and the same arithmetic on the
    same values. glibc only (elsewhere nothing changes).
    """
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_MMAP_MAX, 0)
    mallopt(M_TRIM_THRESHOLD, 2**31 - 1)


def tune_job_process() -> None:
    """A job's process as every job runs: the garbage collector and the memory allocator
    tuned (start_job, each data-parallel process, the benchmarks' workflow side)."""
    tune_garbage_collector()
    tune_memory_allocator()


def library_first_for_jobs(src: Path) -> None:
    """Put the checkout's `src` first on PYTHONPATH, which every job inherits (Snakemake
    only appends a script's folder to sys.path, after site-packages)."""
    paths = [str(src), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))


def job_model(snakemake):
    """The model a job evaluates or generates with, and its tokenizer: the `model` input,
    with the `adapter` input on top where the rule has one, in the job's compute
    precision (on a 4-bit base where the rule's `quantize_4bit` param says so)."""
    from lmtune.core.adapters import load_for_inference
    from lmtune.core.models import load_tokenizer

    compute = snakemake.params.compute
    model = load_for_inference(
        snakemake.input.model, compute["device"], compute["precision"],
        adapter=snakemake.input.get("adapter"), quantize_4bit=snakemake.params.get("quantize_4bit", False),
    )
    return model, load_tokenizer(snakemake.input.model)


def job_identity(snakemake) -> dict:
    """What Snakemake gives a training job that decides its result: its rule, wildcards and
    params, and the content hash of every input (model and data folders)."""

    def hashes(value):
        return [content_hash(item) for item in value] if isinstance(value, list) else content_hash(value)

    return {
        "rule": snakemake.rule,
        "wildcards": dict(snakemake.wildcards.items()),
        "params": dict(snakemake.params.items()),
        "inputs": {name: hashes(value) for name, value in snakemake.input.items()},
    }
