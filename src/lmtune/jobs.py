"""What every workflow script does first: send its output to the job's log file."""

from __future__ import annotations

import logging
import os
import sys


def start_job(snakemake) -> logging.Logger:
    """Redirect stdout/stderr (progress bars, warnings, tracebacks) to `log[0]`.

    Also give torch the threads Snakemake granted the job (the rule's `threads`), so
    parallel jobs do not oversubscribe the cores. A light job never imports torch for it:
    the thread count is set in the environment that a later import of torch reads.
    """
    log_file = open(snakemake.log[0], "w", buffering=1, encoding="utf-8")
    sys.stdout = sys.stderr = log_file
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
    return logging.getLogger(f"lmtune.{snakemake.rule}")
