"""The continual experiment through the SLURM profile on a real one-machine cluster gives
the same evaluations, byte for byte, as the local run."""

from __future__ import annotations

import pytest
import yte

from conftest import REPO, run_snakemake, tiny_config, write_config
from slurm_cluster import slurm_cluster  # noqa: F401  (the fixture)

PROFILE = REPO / "profiles" / "slurm"
PHASE_A_EVAL = "results/continual/sequential/seed0/A/eval/A.json"


def profile_settings() -> dict:
    with open(PROFILE / "config.yaml") as stream:
        return yte.process_yaml(stream, require_use_yte=True)


@pytest.mark.slow
def test_continual_evaluations_through_slurm_match_the_local_run(tiny_run, slurm_cluster, tmp_path, monkeypatch):  # noqa: F811
    workdir = tmp_path / "slurm-run"
    workdir.mkdir()
    full = tiny_config()
    config = {key: full[key] for key in ("seed", "compute", "base_model", "continual")}
    continual = config["continual"]
    if "strategies" in continual:
        continual["strategies"] = {"sequential": continual["strategies"]["sequential"]}
    if "seeds" in continual:
        continual["seeds"] = continual["seeds"][:1]
    write_config(workdir, config)

    monkeypatch.setenv("SLURM_CONF", slurm_cluster.env["SLURM_CONF"])
    monkeypatch.setenv("PATH", slurm_cluster.env["PATH"])
    monkeypatch.setenv("LMTUNE_SLURM_PARTITION", slurm_cluster.partition)
    monkeypatch.delenv("LMTUNE_SLURM_ACCOUNT", raising=False)  # no accounting: nothing to charge
    result = run_snakemake(
        workdir,
        "--profile", str(PROFILE),
        # Phase A of the first seed and its evaluations (six jobs: two splits, two
        # tokenizations (both sides of a domain each), one training, one evaluation); 4 jobs at once on the test node's 4 CPUs. The later
        # --cores replaces run_snakemake's 2: it caps the threads of running jobs.
        PHASE_A_EVAL,
        "--jobs", "4", "--cores", "4",
        # The test cluster has no accounting database: the profile itself picks squeue
        # over sacct (asserted below). Poll often.
        "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "2",
        "--slurm-keep-successful-logs",
        # The profile asks for CUDA and bf16; the local run's device and precision instead
        # (on a CPU the jobs ask for no GPU, and the thread counts of the local run, on which
        # torch's results depend), and memory the test node has.
        "--config", f"compute={config['compute']!r}",
        f"resources={ {kind: {'cpus_per_gpu': 1, 'mem_mb': 2000, 'runtime': 30} for kind in ('training', 'evaluation', 'generation')}!r}",
    )
    log = result.stdout + result.stderr
    assert profile_settings()["slurm-status-command"] == "squeue"  # sacct fails here
    submitted = log.count("has been submitted with SLURM jobid")
    assert submitted > 0, log

    # Every job ran as a SLURM job that completed.
    states = slurm_cluster.run("squeue", "--states=all", "--noheader", "--format=%T").split()
    assert len(states) >= submitted and set(states) == {"COMPLETED"}, states

    # The light jobs (splits, tokenizations) are local rules: only the training and the
    # evaluation become sbatch jobs (7 before they were).
    assert submitted == 2, log
    assert log.count("localrule split_corpus") == 2 and log.count("localrule tokenize_split") == 2, log
    for domain in ["A", "B"]:
        relative = f"results/continual/sequential/seed0/A/eval/{domain}.json"
        assert (workdir / relative).read_bytes() == (tiny_run / relative).read_bytes(), relative
