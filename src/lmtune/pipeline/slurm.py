"""What a SLURM cluster offers, asked of `sinfo` when the workflow loads, so that a job
sent to a partition the cluster does not have is stopped before any job is submitted
(sbatch would reject each one, after the planning)."""

from __future__ import annotations

import shutil
import subprocess

from lmtune.core.errors import ClusterError

# Every partition, one a line; hidden ones too (a user may have the right to use one),
# the default marked with a trailing '*'.
SINFO_PARTITIONS = ["sinfo", "--all", "--noheader", "--format=%P"]


def parse_partitions(sinfo_output: str) -> tuple[list[str], str | None]:
    """The partitions in the output of SINFO_PARTITIONS, in its order and each once,
    and the default one (None when the cluster has none)."""
    partitions, default = [], None
    for line in sinfo_output.splitlines():
        name = line.strip()
        if not name:
            continue
        if name.endswith("*"):
            name = default = name[:-1]
        if name not in partitions:
            partitions.append(name)
    return partitions, default


def cluster_partitions(timeout: float = 30.0) -> tuple[list[str], str | None] | None:
    """The cluster's partitions and its default, from sinfo; None where there is no sinfo
    (no SLURM here: nothing to check)."""
    if shutil.which(SINFO_PARTITIONS[0]) is None:
        return None
    try:
        done = subprocess.run(SINFO_PARTITIONS, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ClusterError(f"`{' '.join(SINFO_PARTITIONS)}` did not answer in {timeout:g} s: is slurmctld reachable?") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise ClusterError(f"`{' '.join(SINFO_PARTITIONS)}` failed: {last}")
    return parse_partitions(done.stdout)


def check_partition(partition: str | None, setting: str = "slurm_partition", available: tuple[list[str], str | None] | None = None) -> None:
    """A named partition the cluster does not have. `available` is what
    `cluster_partitions()` returns (asked of sinfo when not given); without sinfo, or with
    no partition named (the cluster's default), there is nothing to check."""
    if not partition:
        return
    if available is None:
        available = cluster_partitions()
        if available is None:
            return
    partitions, default = available
    if partition not in partitions:
        listed = ", ".join(f"{name} (default)" if name == default else name for name in partitions) or "none"
        raise ClusterError(f"{setting} is {partition!r}, but the cluster has no such partition; its partitions: {listed}")
