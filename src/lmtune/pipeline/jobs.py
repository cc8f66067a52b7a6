"""What every workflow script does first: check it runs the checkout's library, and send
its output to the job's log file."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path

from lmtune.core.compute import log_peak_gpu_memory_at_exit
from lmtune.core.errors import LmtuneError
from lmtune.core.fingerprint import content_hash
from lmtune.core.process import leave_out, left_out, tune_job_process

# Lines of a failed job's log shown on the console.
LOG_TAIL_LINES = 25


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


def library_first_for_jobs(src: Path) -> None:
    """Put the checkout's `src` first on PYTHONPATH, which every job inherits (Snakemake
    only appends a script's folder to sys.path, after site-packages)."""
    paths = [str(src), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))


def job_model(snakemake):
    """The model a job evaluates or generates with, and its tokenizer: the `model` input,
    with the `adapter` input on top where the rule has one, in the job's compute
    precision (on a 4-bit base where the rule's `quantize_4bit` param says so)."""
    from lmtune.core.adapters import load_for_inference, unused_libraries
    from lmtune.core.models import load_tokenizer

    compute, adapter = snakemake.params.compute, snakemake.input.get("adapter")
    quantize_4bit = snakemake.params.get("quantize_4bit", False)
    leave_out(unused_libraries(adapter=adapter is not None, quantized=quantize_4bit))
    model = load_for_inference(
        snakemake.input.model, compute["device"], compute["precision"], adapter=adapter, quantize_4bit=quantize_4bit
    )
    return model, load_tokenizer(snakemake.input.model)


def job_tokenizer(snakemake):
    """The tokenizer of the job's `model` input, for a job that tokenizes and loads no
    model: what it does not use left out first (lmtune.core.models.unused_by_tokenizing)."""
    from lmtune.core.models import load_tokenizer, unused_by_tokenizing

    unused = unused_by_tokenizing(snakemake.input.model)
    logging.getLogger(f"lmtune.{snakemake.rule}").info(
        "the tokenizer of %s%s", snakemake.input.model, f", loaded without {', '.join(unused)}" if unused else ""
    )
    with left_out(unused):
        return load_tokenizer(snakemake.input.model)


def checkpoint_key(snakemake) -> dict:
    """What a checkpoint of a training job must match to be resumed, of what Snakemake gives
    the job: its rule, wildcards and params, and the content hash of every input (model and
    data folders)."""

    def hashes(value):
        return [content_hash(item) for item in value] if isinstance(value, list) else content_hash(value)

    return {
        "rule": snakemake.rule,
        "wildcards": dict(snakemake.wildcards.items()),
        "params": dict(snakemake.params.items()),
        "inputs": {name: hashes(value) for name, value in snakemake.input.items()},
    }
