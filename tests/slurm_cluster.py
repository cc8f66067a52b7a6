"""A real one-machine SLURM cluster for tests: munged, slurmctld and slurmd as root.

Everything lives in one temporary folder (config, munge key and socket, state, spool,
logs), on free ports, so it touches neither /etc/slurm nor a running system cluster.
The daemons run in the foreground as children of the test process and are stopped by
their own process ids, nothing else.

A real cluster keeps slurm.conf where every node finds it (/etc/slurm or configless).
This one keeps it in the temporary folder, named by SLURM_CONF, which the executor's
job step strips before its nested `srun`; so `cluster.env` puts first on PATH an `srun`
that names the config and runs the real one.

Needs root and the Debian packages `slurm-wlm` and `munge`: the fixture fails, rather than
skips, without them (CI installs them with .ci/install-system-packages.sh).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

INSTALL_SCRIPT = ".ci/install-system-packages.sh"
PARTITION = "debug"
BINARIES = ["munged", "mungekey", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "sinfo", "scontrol"]


@dataclass
class SlurmCluster:
    root: Path
    conf: Path
    partition: str
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    outputs: list = field(default_factory=list)

    def start(self, name: str, command: list[str]) -> None:
        """Start one daemon in the foreground, its output in log/<name>.out."""
        output = open(self.root / "log" / f"{name}.out", "w")
        self.outputs.append(output)
        self.processes[name] = subprocess.Popen(command, env=self.env, stdout=output, stderr=subprocess.STDOUT)

    def run(self, *command: str) -> str:
        """A SLURM client command (sinfo, squeue, ...) against this cluster."""
        return subprocess.run(command, env=self.env, check=True, capture_output=True, text=True).stdout

    def logs(self) -> str:
        parts = []
        for path in sorted((self.root / "log").glob("*")):
            parts.append(f"--- {path.name} ---\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None and not Path("/usr/sbin", name).exists()]


def _binary(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _real_memory_mb(margin_mb: int = 1024) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return max(1024, int(line.split()[1]) // 1024 - margin_mb)
    raise RuntimeError("no MemTotal in /proc/meminfo")


def write_slurm_conf(root: Path, cpus: int, memory_mb: int) -> Path:
    ctld_port, slurmd_port = _free_ports(2)
    conf = root / "slurm.conf"
    conf.write_text(
        f"""\
ClusterName=lmtune-test
SlurmctldHost=localhost
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={root / "munge" / "munge.socket"}
CredType=cred/munge
StateSaveLocation={root / "state"}
SlurmdSpoolDir={root / "spool"}
SlurmctldPidFile={root / "run" / "slurmctld.pid"}
SlurmdPidFile={root / "run" / "slurmd.pid"}
SlurmctldLogFile={root / "log" / "slurmctld.log"}
SlurmdLogFile={root / "log" / "slurmd.log"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
# Keep finished jobs visible to squeue long enough for the executor's status checks.
MinJobAge=600
# Trust the node definition below rather than the hardware slurmd detects.
SlurmdParameters=config_overrides
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName={PARTITION} Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""
    )
    return conf


def _start_munge(cluster: SlurmCluster) -> None:
    """munged with its own key and socket (slurm.conf's AuthInfo names the socket)."""
    folder = cluster.root / "munge"
    folder.mkdir(mode=0o700)
    key = folder / "munge.key"
    subprocess.run([_binary("mungekey"), "--create", "--keyfile", str(key)], check=True, capture_output=True)
    key.chmod(0o400)
    cluster.start("munged", [
        _binary("munged"), "--foreground", "--force",
        f"--socket={folder / 'munge.socket'}", f"--key-file={key}",
        f"--pid-file={folder / 'munged.pid'}", f"--seed-file={folder / 'munged.seed'}",
        f"--log-file={cluster.root / 'log' / 'munged.log'}",
    ])
    _wait(lambda: (folder / "munge.socket").exists(), "munged's socket", cluster.processes)


def _wait(ready, what: str, processes: dict, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode} while waiting for {what}")
        if ready():
            return
        time.sleep(0.3)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def start_cluster(root: Path, cpus: int | None = None) -> SlurmCluster:
    """Start munged, slurmctld and slurmd under `root`; return once the node is idle."""
    if os.geteuid() != 0:
        raise RuntimeError("the test SLURM cluster runs its daemons as root")
    for sub in ("state", "spool", "run", "log"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    # At least 4 CPUs, more than a small machine has (config_overrides allows it): short
    # jobs spend most of their time starting Python, so they overlap well.
    cpus = cpus or max(4, os.cpu_count() or 1)
    conf = write_slurm_conf(root, cpus, _real_memory_mb())
    bin_dir = root / "bin"
    bin_dir.mkdir(exist_ok=True)
    srun = bin_dir / "srun"
    srun.write_text(f'#!/bin/sh\nSLURM_CONF={conf} exec {_binary("srun")} "$@"\n')
    srun.chmod(0o755)
    env = {**os.environ, "SLURM_CONF": str(conf), "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    for name in list(env):
        if name.startswith(("SLURM_", "SBATCH_", "SRUN_", "SALLOC_")) and name != "SLURM_CONF":
            del env[name]
    cluster = SlurmCluster(root=root, conf=conf, partition=PARTITION, env=env)
    try:
        _start_munge(cluster)
        cluster.start("slurmctld", [_binary("slurmctld"), "-D", "-i", "-f", str(conf)])
        cluster.start("slurmd", [_binary("slurmd"), "-D", "-N", "localhost", "-f", str(conf)])

        def node_idle() -> bool:
            result = subprocess.run(
                ["sinfo", "--noheader", "--nodes=localhost", "--format=%T"],
                env=env, capture_output=True, text=True,
            )
            return result.returncode == 0 and result.stdout.strip() == "idle"

        _wait(node_idle, "the node to be idle in sinfo", cluster.processes)
    except BaseException as error:
        stop_cluster(cluster)
        raise RuntimeError(f"the test SLURM cluster did not start: {error}\n{cluster.logs()}") from error
    return cluster


def stop_cluster(cluster: SlurmCluster) -> None:
    """Stop the daemons this cluster started, newest first, by their own process ids."""
    for name in ("slurmd", "slurmctld", "munged"):
        process = cluster.processes.get(name)
        if process is None or process.poll() is not None:
            continue
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for output in cluster.outputs:
        output.close()


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A running one-machine SLURM cluster; SLURM client commands need `cluster.env`."""
    missing = missing_binaries()
    if missing:
        pytest.fail(
            f"SLURM test cluster: {', '.join(missing)} not installed. "
            f"Install the system packages with `sudo {INSTALL_SCRIPT}` (Debian: slurm-wlm, munge).",
            pytrace=False,
        )
    if os.geteuid() != 0:
        pytest.fail("SLURM test cluster: slurmd must run as root to launch jobs; run the tests as root.", pytrace=False)
    cluster = start_cluster(tmp_path_factory.mktemp("slurm"))
    try:
        yield cluster
    finally:
        stop_cluster(cluster)
