"""A job's identity: the content of its inputs that no rule makes, and of the folders
that rules make, is part of it, so a change in place reruns exactly the jobs that read
the changed input (issues 29 and 39), whatever the file's modification time says; and study branches share a result exactly where their
jobs' identities are the base's (issue 28)."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

import pytest

from lmtune.core.fingerprint import ContentCache, content_hash
from lmtune.core.schema import fill_defaults
from lmtune.experiments import config_schema
from lmtune.pipeline.continual import ContinualJobs
from lmtune.pipeline.sharing import forget_claims

from conftest import planned_jobs, run_snakemake, tiny_config, write_config


def rewrite_keeping_times(path, data: bytes) -> None:
    """Write `data` over `path` and set its modification time back (`touch -r`)."""
    times = os.stat(path)
    path.write_bytes(data)
    os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))


def test_the_content_cache_sees_a_change_whose_modification_time_was_set_back(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    weights = folder / "model.safetensors"
    weights.write_bytes(b"\x01" * 4096)
    cache = ContentCache(tmp_path / "cache")
    before = content_hash(folder, cache)
    assert before == content_hash(folder) == content_hash(folder, ContentCache(tmp_path / "cache"))
    rewrite_keeping_times(weights, b"\x02" * 4096)  # same size, same modification time
    assert content_hash(folder, cache) == content_hash(folder) != before


@pytest.fixture
def small_run(tmp_path, tiny_model_dir):
    """The continual experiment's data for domain A (split and tokens), made for real from
    a corpus and a model folder of the test's own."""
    config = tiny_config()
    config["experiments"] = ["continual"]
    model = shutil.copytree(tiny_model_dir, tmp_path / "model")
    corpus = tmp_path / "corpus_a.txt"
    shutil.copy(config["continual"]["domains"]["A"]["corpus"], corpus)
    config["base_model"]["source"] = str(model)
    config["continual"]["domains"]["A"]["corpus"] = str(corpus)
    write_config(tmp_path, config)
    target = "results/continual/tokens/A/train"
    run_snakemake(tmp_path, target)
    assert "Nothing to be done" in run_snakemake(tmp_path, "-n", target).stdout
    return tmp_path, target, model, corpus


def planned(workdir, *targets) -> dict[str, int]:
    result = run_snakemake(workdir, "-n", *targets)
    return {} if "Nothing to be done" in result.stdout else planned_jobs(result.stdout)


@pytest.mark.slow
def test_a_change_in_place_reruns_exactly_the_jobs_that_read_it(small_run):
    workdir, target, model, corpus = small_run
    # Data changed, its modification time set back: the split, and the blocks made from it.
    text = corpus.read_bytes()
    rewrite_keeping_times(corpus, text.replace(b"a", b"e", 40))
    assert planned(workdir, target) == {"split_corpus": 1, "tokenize_split": 1}
    run_snakemake(workdir, target)
    # A weight changed in place (same size, same time): the blocks (the job reads the
    # model folder's tokenizer), not the split, which does not read the model.
    weights = model / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    rewrite_keeping_times(weights, bytes(data))
    assert planned(workdir, target) == {"tokenize_split": 1}
    run_snakemake(workdir, target)
    # The weights cut to half: stopped when the workflow loads, naming the file.
    with open(weights, "r+b") as handle:
        handle.truncate(len(data) // 2)
    refused = run_snakemake(workdir, "-n", target, check=False)
    assert refused.returncode != 0 and "model.safetensors is truncated" in refused.stdout + refused.stderr
    weights.write_bytes(bytes(data))
    run_snakemake(workdir, target)
    # A cut file that still loads (a tokenizer file's tail): the blocks again.
    tokenizer = model / "tokenizer.json"
    with open(tokenizer, "r+b") as handle:
        handle.truncate(tokenizer.stat().st_size - 1)
    assert planned(workdir, target) == {"tokenize_split": 1}


def test_an_unreadable_file_of_an_input_stops_the_job_naming_it():
    """Run as a user who cannot read one file of a folder the job reads (as root, a
    throwaway user): planning stops with the file's name, never a digest of the rest."""
    import subprocess
    import sys

    from lmtune.pipeline import identity

    import tempfile

    reachable = Path(tempfile.mkdtemp(prefix="lmtune-unreadable-"))  # pytest's folders are root's alone
    reachable.chmod(0o755)
    folder = reachable / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    (folder / "adapter_model.safetensors").write_bytes(b"\x01" * 64)
    (folder / "adapter_model.safetensors").chmod(0)
    if os.geteuid() != 0:
        with pytest.raises(identity.UnreadableInput, match="adapter_model.safetensors"):
            identity.source_digest(folder)
        return
    name = f"lmtune-{os.urandom(4).hex()}"
    if subprocess.run(["useradd", "--no-create-home", name], capture_output=True).returncode:
        pytest.skip("run as root without useradd: no user who cannot read the file")
    try:
        user = int(subprocess.run(["id", "-u", name], capture_output=True, text=True, check=True).stdout)
        script = ("import sys; from lmtune.pipeline import identity\n"
                  "try: identity.source_digest(sys.argv[1])\n"
                  "except identity.UnreadableInput as error: print(error)")
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        done = subprocess.run([python, "-c", script, str(folder)], user=user, capture_output=True, text=True,
                              env={"PYTHONPATH": str(Path(identity.__file__).parents[2])}, cwd="/")
    finally:
        subprocess.run(["userdel", name], capture_output=True)
        shutil.rmtree(reachable)
    assert done.stdout.startswith(f"cannot read {folder / 'adapter_model.safetensors'}"), done.stdout + done.stderr


def rescale_keeping_size(weights: Path, factor: float, keep_time: bool) -> None:
    """The adapter's weights scaled in place: the same size and header, other values."""
    from safetensors.torch import load_file, save_file

    times = os.stat(weights)
    tensors = {name: tensor * factor for name, tensor in load_file(weights).items()}
    save_file(tensors, weights, metadata={"format": "pt"})
    if keep_time:
        os.utime(weights, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert os.stat(weights).st_size == times.st_size


INSTRUCT_TARGETS = ("results/instruct/metrics.json", "results/instruct/export")
ADAPTER_READERS = {"evaluate_instruct": 1, "generate_instruct": 1, "export_instruct": 1, "score_instruct": 1}


@pytest.mark.slow
def test_a_made_folder_changed_in_place_reruns_exactly_the_jobs_that_read_it(tiny_run, tmp_path):
    """Issue 39: the instruct adapter, a folder that train_instruct makes, changed by hand
    or by a failing disk. Its timestamp marker says nothing; its content reruns exactly the
    jobs that read it (and score_instruct, which reads their outputs), with fresh metrics."""
    from conftest import clone_run

    workdir = clone_run(tiny_run, tmp_path / "run")
    weights = workdir / "results/instruct/adapter/adapter_model.safetensors"
    weights.unlink()  # the clone's files are links to the finished run's
    shutil.copy(tiny_run / "results/instruct/adapter/adapter_model.safetensors", weights)
    assert planned(workdir, *INSTRUCT_TARGETS) == {}

    def validation_loss() -> float:
        import json

        return json.loads((workdir / "results/instruct/metrics.json").read_text())["validation"]["eval_loss"]

    before = validation_loss()
    # Overwritten, its modification time kept.
    rescale_keeping_size(weights, 3.0, keep_time=True)
    assert planned(workdir, *INSTRUCT_TARGETS) == ADAPTER_READERS
    run_snakemake(workdir, *INSTRUCT_TARGETS)
    assert validation_loss() != before
    assert planned(workdir, *INSTRUCT_TARGETS) == {}
    # The same with a new modification time (the folder's marker is older still).
    rescale_keeping_size(weights, 0.5, keep_time=False)
    assert planned(workdir, *INSTRUCT_TARGETS) == ADAPTER_READERS
    # Cut to half.
    with open(weights, "r+b") as handle:
        handle.truncate(weights.stat().st_size // 2)
    assert planned(workdir, *INSTRUCT_TARGETS) == ADAPTER_READERS


def continual_config(**changes) -> dict:
    config = tiny_config()
    fill_defaults(config, config_schema())
    for path, value in changes.items():
        section = config
        *parents, key = path.split(".")
        for parent in parents:
            section = section[parent]
        section[key] = value
    return config


def test_a_branch_shares_a_folder_exactly_where_its_jobs_are_the_bases():
    forget_claims()
    base = ContinualJobs(continual_config(), "model")
    # Phase B's learning rate: phase A and every domain's data are the base's; phase B is the branch's own.
    branch = ContinualJobs(continual_config(**{"results": "results/study/lr", "continual.phases.B.learning_rate": 3e-4}), "model")
    assert branch.data_folder("A") == branch.data_folder("B") == "results/continual"
    assert branch.phase_folder("sequential", 0, "A") == "results/continual/sequential/seed0/A"
    assert branch.phase_folder("sequential", 0, "B") == "results/study/lr/continual/sequential/seed0/B"
    assert branch.base_evaluation_folder() == "results/continual/base"
    # The evaluation batch size: every model's evaluations are the branch's own, the data still shared.
    branch = ContinualJobs(continual_config(**{"results": "results/study/eval", "continual.evaluation.batch_size": 4}), "model")
    assert branch.phase_folder("sequential", 0, "A") == "results/study/eval/continual/sequential/seed0/A"
    assert branch.base_evaluation_folder() == "results/study/eval/continual/base"
    assert branch.data_folder("A") == "results/continual"
    # The split: nothing shared.
    split = copy.deepcopy(base.config["continual"]["split"]) | {"seed": 7}
    branch = ContinualJobs(continual_config(**{"results": "results/study/split", "continual.split": split}), "model")
    assert branch.data_folder("A") == branch.train_data_folder("A") == "results/study/split/continual"
    assert branch.phase_folder("sequential", 0, "A").startswith("results/study/split/")
    # A seed the base does not run is never read from the base's folder.
    branch = ContinualJobs(continual_config(**{"results": "results/study/seeds", "continual.seeds": [0, 1, 5]}), "model")
    assert branch.phase_folder("sequential", 5, "A") == "results/study/seeds/continual/sequential/seed5/A"
    assert branch.phase_folder("sequential", 1, "A") == "results/continual/sequential/seed1/A"
    # A later branch that makes what an earlier branch makes reads it from that branch's folder.
    later = ContinualJobs(continual_config(**{"results": "results/study/seeds2", "continual.seeds": [5]}), "model")
    assert later.phase_folder("sequential", 5, "B") == "results/study/seeds/continual/sequential/seed5/B"
    # A cap on the test side: the evaluations read the branch's own capped stores; the
    # training side, and so every phase's training, is the base's.
    split = copy.deepcopy(base.config["continual"]["split"]) | {"max_test_tokens": 300}
    capped = ContinualJobs(continual_config(**{"results": "results/study/cap", "continual.split": split}), "model")
    assert capped.data_folder("A") == "results/study/cap/continual"
    assert capped.train_data_folder("A") == "results/continual"
    assert capped.training("sequential", 0, "A") == base.training("sequential", 0, "A")
    assert capped.phase_folder("sequential", 0, "A") == "results/study/cap/continual/sequential/seed0/A"
    # A result no run makes has no folder: an error, not "not shared".
    with pytest.raises(KeyError):
        branch.phase_folder("sequential", 9, "A")


# Loads the workflow as `snakemake -n` does and reports what a study's planning leaves
# behind: which rules lack an identity param, and how often src/ is on the import path.
_LOAD_STUDY = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings, StorageSettings

repo = Path(sys.argv[1])
with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
    workflow_api = api.workflow(
        resource_settings=ResourceSettings(cores=1), config_settings=ConfigSettings(),
        storage_settings=StorageSettings(), snakefile=repo / "Snakefile", workdir=Path.cwd(),
    )
    workflow_api.dag()
    rules = list(workflow_api._workflow.rules)
    print(json.dumps({
        "branch_rules": sum(rule.name.startswith("branch_") for rule in rules),
        "without_library": [r.name for r in rules if r.is_script and "library" not in r.params.keys()],
        "without_contents": [r.name for r in rules if r.input and "contents" not in r.params.keys()],
        "src_on_path": sys.path.count(str(repo / "src")),
    }))
"""


def test_a_study_plans_each_rule_of_each_branch_with_its_identity_and_src_on_the_path_once(tmp_path):
    """A study loads the workflow once per branch: every branch's rules get the library and
    contents params (each rule looked at once, not again for every later branch), and the
    import path does not grow with the branches (it had one src/ entry per branch)."""
    import json
    import subprocess
    import sys

    from conftest import REPO, snakemake_env

    config = tiny_config()
    config["experiments"] = ["continual"]
    config["sweeps"] = {"settings": {"continual.phases.B.learning_rate": [2e-4, 3e-4, 4e-4]}}
    write_config(tmp_path, config)
    done = subprocess.run([sys.executable, "-c", _LOAD_STUDY, str(REPO)], cwd=tmp_path, capture_output=True,
                          text=True, env=snakemake_env())
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["branch_rules"] >= 3 * 5
    assert found["without_library"] == [] and found["without_contents"] == []
    assert found["src_on_path"] == 1
