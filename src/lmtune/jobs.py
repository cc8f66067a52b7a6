"""What every workflow script does first: send its output to the job's log file."""

from __future__ import annotations

import logging
import sys


def start_job(snakemake) -> logging.Logger:
    """Redirect stdout/stderr (progress bars, warnings, tracebacks) to `log[0]`.

    Also give torch the threads Snakemake granted the job, so parallel jobs do not
    oversubscribe the cores.
    """
    log_file = open(snakemake.log[0], "w", buffering=1, encoding="utf-8")
    sys.stdout = sys.stderr = log_file
    logging.basicConfig(
        stream=log_file,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    import torch

    torch.set_num_threads(max(1, int(snakemake.threads)))
    return logging.getLogger(f"lmtune.{snakemake.rule}")
