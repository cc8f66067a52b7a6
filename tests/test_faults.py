"""Faults: a diverging loss, a killed write, broken models and corpora, an unreachable
model, hostile config values and custom model code each stop the work with the culprit
named, and never leave something a later run would take as done."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lmtune.core import atomic
from lmtune.continual.corpus import read_corpus
from lmtune.core.errors import CorpusError, ModelError, TrainingError
from lmtune.core.models import ModelSource, check_model_folder, load_model, load_tokenizer, materialize

from conftest import REPO, run_snakemake, tiny_config, write_config

SEQUENTIAL_A = "results/continual/sequential/seed0/A"


@pytest.fixture(scope="module")
def good_config(tmp_path_factory):
    """The tiny config's continual experiment alone (the other sections are not needed)."""
    config = tiny_config()
    del config["arithmetic"], config["java"], config["instruct"]
    return config


def dry_run_error(workdir: Path, config: dict) -> str:
    workdir.mkdir(exist_ok=True)
    write_config(workdir, config)
    result = run_snakemake(workdir, "-n", check=False)
    assert result.returncode != 0, result.stdout
    assert not (workdir / "results").exists()
    return result.stdout + result.stderr


def copy_model(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


# --- a diverging loss ------------------------------------------------------------------


@pytest.fixture
def train_blocks(tmp_path, tiny_tokenizer):
    from lmtune.core.blocks import load_blocks, tokenize_to_dataset

    text = ["la inteligencia artificial es un modelo de datos", "el reglamento de la universidad"] * 6
    tokenize_to_dataset(text, tiny_tokenizer, block_size=8).save_to_disk(str(tmp_path / "blocks"))
    return load_blocks(tmp_path / "blocks")


def test_an_infinite_loss_stops_training_and_writes_no_model(tmp_path, tiny_model_dir, train_blocks):
    """tests/test_training.py covers NaN; an overflow to inf must stop training too."""
    from lmtune.core.training import TrainSettings, train_causal_lm

    model = load_model(tiny_model_dir)

    def overflow(module, args, kwargs, output):
        output["loss"] = output["loss"] * float("inf")  # a finite positive loss overflows
        return output

    model.register_forward_hook(overflow, with_kwargs=True)
    with pytest.raises(TrainingError, match="training loss became inf at step 1"):
        train_causal_lm(
            model=model, tokenizer=load_tokenizer(tiny_model_dir), train_data=train_blocks,
            out_dir=tmp_path / "out", loss_log=tmp_path / "loss.csv", checkpoint_dir=tmp_path / "checkpoints",
            settings=TrainSettings(epochs=1, max_steps=3, batch_size=2, learning_rate=1e-3),
            seed=0, progress=False,
        )
    assert not (tmp_path / "out").exists() and not (tmp_path / "loss.csv").exists()
    assert not list(tmp_path.glob(".out.*")), "no temporary model folder is left behind"


@pytest.mark.slow
def test_a_nan_loss_fails_the_workflow_job_with_no_model_written(nan_model_run):
    """The real phase job on a model whose weights are NaN: the job fails, its log says
    why, and no model is left where the next run would take it as done."""
    workdir, result = nan_model_run
    assert result.returncode != 0
    assert "Error in rule train_phase" in result.stdout + result.stderr
    log = (workdir / "results/logs/train_phase/sequential/seed0/A.log").read_text()
    assert "TrainingError: training loss became nan at step 1" in log
    assert not (workdir / SEQUENTIAL_A / "model").exists()
    assert not (workdir / SEQUENTIAL_A / "train_loss.csv").exists()
    # The next run plans the phase again rather than taking it as done.
    dry = run_snakemake(workdir, "-n", f"{SEQUENTIAL_A}/model", check=False)
    assert re.search(r"^train_phase\s+1$", dry.stdout, re.MULTILINE), dry.stdout + dry.stderr


# --- an interrupted write --------------------------------------------------------------

# Each child stops at a chosen point of an atomic write, says so, and waits to be killed.
WRITE_TEXT_STALLED_BEFORE_RENAME = """
import os, sys, time
from lmtune.core import atomic

def stall(fd):  # the data is written and flushed; the rename has not happened yet
    print("stalled", flush=True)
    time.sleep(600)

os.fsync = stall
atomic.write_text(sys.argv[1], "x" * 20_000_000)
"""

DIRECTORY_STALLED_INSIDE = """
import sys, time
from pathlib import Path
from lmtune.core import atomic

with atomic.directory(sys.argv[1]) as tmp:
    (tmp / "config.json").write_text("{}")
    (tmp / "model.safetensors").write_bytes(bytes(1_000_000))
    print("stalled", flush=True)
    time.sleep(600)
"""

DIRECTORY_STALLED_REMOVING_THE_OLD_ONE = """
import os, shutil, sys, time
from pathlib import Path
from lmtune.core import atomic

real_rmtree = shutil.rmtree

def slow_rmtree(path, *args, **kwargs):  # a kill part-way through deleting a folder
    files = sorted(p for p in Path(path).rglob("*") if p.is_file())
    if len(files) > 1:
        files[0].unlink()
        print("stalled", flush=True)
        time.sleep(600)
    real_rmtree(path, *args, **kwargs)

shutil.rmtree = slow_rmtree
with atomic.directory(sys.argv[1]) as tmp:
    for name in ["config.json", "model.safetensors", "tokenizer.json"]:
        (tmp / name).write_text("new")
"""


def kill_when_stalled(code: str, target: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert child.stdout.readline().strip() == "stalled", "the child never reached its stall point"
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL


def leftovers(folder: Path, target: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p != target)


@pytest.mark.parametrize("existing", [False, True], ids=["new", "replacing"])
def test_a_killed_file_write_never_leaves_a_partial_target(tmp_path, existing):
    target = tmp_path / "metrics.json"
    if existing:
        atomic.write_json(target, {"eval_loss": 1.0})
    kill_when_stalled(WRITE_TEXT_STALLED_BEFORE_RENAME, target)
    if existing:
        assert json.loads(target.read_text()) == {"eval_loss": 1.0}, "the previous file is intact"
    else:
        assert not target.exists()
    # Only a hidden temporary file remains, under a name no rule declares.
    (tmp,) = leftovers(tmp_path, target)
    assert re.fullmatch(r"\.metrics\.json\..+\.tmp", tmp)


@pytest.mark.parametrize("existing", [False, True], ids=["new", "replacing"])
def test_a_killed_folder_write_never_leaves_a_partial_target(tmp_path, existing):
    target = tmp_path / "model"
    if existing:
        with atomic.directory(target) as tmp:
            (tmp / "config.json").write_text("old")
    kill_when_stalled(DIRECTORY_STALLED_INSIDE, target)
    if existing:
        assert [p.name for p in target.iterdir()] == ["config.json"] and (target / "config.json").read_text() == "old"
    else:
        assert not target.exists()
    (tmp,) = leftovers(tmp_path, target)
    assert re.fullmatch(r"\.model\..+\.tmp", tmp)


def test_a_kill_while_replacing_a_folder_leaves_the_whole_new_one(tmp_path):
    """Deleting the previous folder takes time; a kill then must not leave it half
    deleted at the target's name."""
    target = tmp_path / "model"
    with atomic.directory(target) as tmp:
        for name in ["config.json", "model.safetensors", "tokenizer.json"]:
            (tmp / name).write_text("old")
    kill_when_stalled(DIRECTORY_STALLED_REMOVING_THE_OLD_ONE, target)
    assert sorted(p.name for p in target.iterdir()) == ["config.json", "model.safetensors", "tokenizer.json"]
    assert {(target / name).read_text() for name in ["config.json", "model.safetensors", "tokenizer.json"]} == {"new"}
    assert all(name.startswith(".model.") for name in leftovers(tmp_path, target))


def test_a_failed_folder_write_keeps_the_previous_folder(tmp_path):
    target = tmp_path / "model"
    with atomic.directory(target) as tmp:
        (tmp / "config.json").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic.directory(target) as tmp:
            (tmp / "config.json").write_text("new")
            raise RuntimeError("the job failed while writing")
    assert (target / "config.json").read_text() == "old"
    assert leftovers(tmp_path, target) == [], "the temporary folder is removed"


def test_a_folder_write_removes_what_a_killed_write_of_it_left(tmp_path):
    """A kill while the instruct export is written leaves `.export.*.tmp` (partial
    weights) or the previous folder set aside (`.export.*.old`); the rerun's write of
    the same folder removes them, and nothing of another target."""
    kill_when_stalled(DIRECTORY_STALLED_INSIDE, tmp_path / "export")
    (tmp_path / ".export.k3_x9q2a.old" / "export").mkdir(parents=True)
    others = [".export.x.k3_x9q2a.tmp", ".exports.k3_x9q2a.tmp", ".export.json.k3_x9q2a.tmp", "export.k3_x9q2a.tmp"]
    for name in others:
        (tmp_path / name).mkdir()
    assert len(leftovers(tmp_path, tmp_path / "export")) == 2 + len(others)
    with atomic.directory(tmp_path / "export") as tmp:
        (tmp / "config.json").write_text("{}")
    assert [p.name for p in (tmp_path / "export").iterdir()] == ["config.json"]
    assert leftovers(tmp_path, tmp_path / "export") == sorted(others)


def test_atomic_outputs_get_the_permissions_of_a_plain_write(tmp_path):
    """Temporary files and folders are private; the results they become must not be (a
    shared cluster's group reads them)."""
    previous = os.umask(0o002)
    try:
        atomic.write_json(tmp_path / "metrics.json", {})
        with atomic.directory(tmp_path / "model") as tmp:
            (tmp / "config.json").write_text("{}")
        (tmp_path / "plain.txt").write_text("{}")
        (tmp_path / "plain").mkdir()
    finally:
        os.umask(previous)

    def mode(name):
        return stat.S_IMODE((tmp_path / name).stat().st_mode)

    assert mode("metrics.json") == mode("plain.txt") == 0o664
    assert mode("model") == mode("plain") == 0o775


def test_files_written_private_into_an_atomic_folder_follow_the_umask(tmp_path):
    """safetensors writes weights 0600 (the exported model, the adapter); the folder
    writer gives every file and subfolder the mode a plain write would."""
    import numpy
    from safetensors.numpy import save_file

    previous = os.umask(0o027)
    try:
        with atomic.directory(tmp_path / "export") as tmp:
            save_file({"w": numpy.zeros(2, dtype=numpy.float32)}, tmp / "model.safetensors")
            (tmp / "sub").mkdir(mode=0o700)
            os.close(os.open(tmp / "sub" / "private.json", os.O_CREAT | os.O_WRONLY, 0o600))
            os.close(os.open(tmp / "run.sh", os.O_CREAT | os.O_WRONLY, 0o700))
    finally:
        os.umask(previous)

    def mode(name):
        return stat.S_IMODE((tmp_path / "export" / name).stat().st_mode)

    assert mode("model.safetensors") == mode("sub/private.json") == 0o640
    assert mode("sub") == mode("run.sh") == mode(".") == 0o750


# --- broken model folders --------------------------------------------------------------


def truncate_end(folder):
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])


def truncate_header(folder):
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:20])


def corrupt_header(folder):
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[8:16] = b"\xff" * 8  # the JSON header no longer parses
    weights.write_bytes(bytes(data))


def empty_weights(folder):
    (folder / "model.safetensors").write_bytes(b"")


def drop_config(folder):
    (folder / "config.json").unlink()


def break_config(folder):
    (folder / "config.json").write_text('{"model_type": "llama", ')


def pickle_weights_only(folder):
    import torch
    from safetensors.torch import load_file

    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()


BROKEN_FOLDERS = [
    (truncate_end, r"weights file model\.safetensors is truncated \(\d+ of \d+ bytes\)"),
    (truncate_header, r"weights file model\.safetensors is truncated \(20 bytes, not even its header\)"),
    (corrupt_header, r"weights file model\.safetensors has a corrupt header"),
    (empty_weights, r"weights file model\.safetensors is truncated \(0 bytes"),
    (drop_config, r"has no config\.json"),
    (break_config, r"config\.json is not valid JSON"),
    (pickle_weights_only, r"has no \*\.safetensors weights \(found pytorch_model\.bin: pickle weights are not loaded\)"),
]


@pytest.mark.parametrize("breakage, message", BROKEN_FOLDERS, ids=[b.__name__ for b, _ in BROKEN_FOLDERS])
def test_a_broken_model_folder_is_named(tmp_path, tiny_model_dir, breakage, message):
    folder = copy_model(tiny_model_dir, tmp_path / "my-model")
    breakage(folder)
    for check in (check_model_folder, load_model):
        with pytest.raises(ModelError, match=rf"{re.escape(str(folder))}\W.*{message}"):
            check(folder)


def test_a_model_folder_without_a_tokenizer_is_named(tmp_path, tiny_model_dir):
    folder = copy_model(tiny_model_dir, tmp_path / "no-tokenizer")
    for name in ["tokenizer.json", "tokenizer_config.json"]:
        (folder / name).unlink()
    with pytest.raises(ModelError, match=rf"cannot load the tokenizer of {re.escape(str(folder))}"):
        load_tokenizer(folder)


@pytest.mark.parametrize("breakage, message", [BROKEN_FOLDERS[0], BROKEN_FOLDERS[-1]], ids=["truncated", "pickle-only"])
def test_a_broken_base_model_folder_stops_the_workflow_before_any_job(tmp_path, tiny_model_dir, good_config, breakage, message):
    folder = copy_model(tiny_model_dir, tmp_path / "models" / "my-model")
    breakage(folder)
    config = copy.deepcopy(good_config)
    config["base_model"]["source"] = str(folder)
    output = dry_run_error(tmp_path / "run", config)
    assert re.search(rf"base_model: .*{re.escape(str(folder))}\W.*{message}", output), output


# --- unreadable corpora ----------------------------------------------------------------


def test_an_unreadable_corpus_is_named(tmp_path, monkeypatch):
    folder = tmp_path / "a-folder.txt"
    folder.mkdir()
    with pytest.raises(CorpusError, match=rf"corpus file {re.escape(str(folder))} is a directory"):
        read_corpus(folder)
    # Invalid UTF-8 in the middle of a file: the file and the byte's offset are named.
    broken = tmp_path / "broken.txt"
    broken.write_bytes("Artículo 1.\n\nArtículo 2.\n".encode() + b"\xff\xfe" + "Artículo 3.\n".encode())
    with pytest.raises(CorpusError, match=r"broken\.txt is not valid UTF-8 \(bad byte at offset 27\)"):
        read_corpus(broken)
    # Tests run as root, where mode 000 does not stop a read: make the read fail instead.
    locked = tmp_path / "locked.txt"
    locked.write_text("uno\n\ndos\n")

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(CorpusError, match=r"corpus file .*locked\.txt cannot be read: Permission denied"):
        read_corpus(locked)


def test_a_directory_given_as_corpus_stops_the_workflow_with_it_named(tmp_path, good_config):
    folder = tmp_path / "corpus-folder"
    folder.mkdir()
    config = copy.deepcopy(good_config)
    config["continual"]["domains"]["B"]["corpus"] = str(folder)
    output = dry_run_error(tmp_path / "run", config)
    # A folder is a corpus of shards: an empty one holds none.
    assert f"continual.domains.B.corpus: corpus folder {folder} holds no shard" in output


# --- an unknown or unreachable model ---------------------------------------------------


def test_an_unknown_hub_model_fails_fast_and_is_named_offline(tmp_path, good_config, monkeypatch):
    """Offline, a hub id that is not in the local cache stops the workflow when it loads,
    with the id named (left to the download, huggingface_hub retries for ~45 s first)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = copy.deepcopy(good_config)
    config["base_model"]["source"] = "no-such-org/no-such-model"
    output = dry_run_error(tmp_path, config)
    assert "base_model: 'no-such-org/no-such-model' is no local folder" in output
    assert "not in the hub cache, and HF_HUB_OFFLINE is set" in output
    assert not (tmp_path / "resources/models/no-such-org--no-such-model").exists()


def test_an_unknown_strategy_method_is_named(tmp_path, good_config):
    config = copy.deepcopy(good_config)
    config["continual"]["strategies"] = {"x": {"method": "nonsense"}}
    output = dry_run_error(tmp_path, config)
    assert "continual.strategies.x: unknown method 'nonsense'; known: sequential" in output


# --- nothing from the config reaches a shell -------------------------------------------


def rule_directives(text: str) -> dict[str, list[str]]:
    """rule name -> the directives of its body (input, output, script, ...)."""
    rules, current, indent = {}, None, ""
    for line in text.splitlines():
        if match := re.match(r"^(\s*)(?:rule|checkpoint)\s+(\w+)\s*:", line):
            indent, current = match.group(1), rules.setdefault(match.group(2), [])
        elif current is not None and (match := re.match(rf"^{indent}    (\w+)\s*:", line)):
            current.append(match.group(1))
        elif line.strip() and len(line) - len(line.lstrip()) <= len(indent):
            current = None
    return rules


def test_no_rule_runs_a_shell_command_or_inline_code():
    files = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").rglob("*.smk"))]
    rules = {}
    for file in files:
        text = file.read_text()
        assert not re.search(r"^\s*(shell|run)\s*:", text, re.MULTILINE), f"{file.name} has a shell: or run: directive"
        assert not re.search(r"\bshell\s*\(", text), f"{file.name} calls shell()"
        rules.update(rule_directives(text))
    assert "train_phase" in rules and "all" in rules
    for name, directives in rules.items():
        if name == "all":
            assert sorted(directives) == ["default_target", "input"], directives
        elif name == "unplanned_target":  # runs nothing: its input function only raises
            # (snakefmt orders the directives)
            assert sorted(directives) == ["input", "localrule", "log", "output", "wildcard_constraints"], directives
        else:
            assert "script" in directives, f"rule {name} runs no script: ({directives})"
    # The library and scripts never hand a string to a shell either.
    for file in [*(REPO / "src/lmtune").rglob("*.py"), *(REPO / "workflow/scripts").glob("*.py")]:
        text = file.read_text()
        assert "shell=True" not in text and "os.system(" not in text and "os.popen(" not in text, file


HOSTILE = ["$(touch pwned1)", "`touch pwned2`", "x; touch pwned3", "x' && touch pwned4 '", 'x" | touch pwned5 "']


def test_shell_metacharacters_in_config_paths_are_never_run(tmp_path, good_config):
    config = copy.deepcopy(good_config)
    for domain, hostile in zip(["A", "B"], [HOSTILE[:3], HOSTILE[3:]]):
        corpus = tmp_path / "corpora" / " ".join(hostile) / f"{domain} {hostile[0]}.txt"
        corpus.parent.mkdir(parents=True)
        shutil.copy(config["continual"]["domains"][domain]["corpus"], corpus)
        config["continual"]["domains"][domain]["corpus"] = str(corpus)
    workdir = tmp_path / "run"
    workdir.mkdir()
    write_config(workdir, config)
    run_snakemake(workdir, "-n")
    run_snakemake(workdir, "--until", "split_corpus")  # the jobs that read the corpora
    for domain in "AB":
        assert json.loads((workdir / f"results/continual/data/{domain}/split.json").read_text())["documents"]["train"]
    assert not list(tmp_path.rglob("pwned*"))
    assert not [place for place in (REPO, Path.cwd()) if list(place.glob("pwned*"))]


# --- safetensors only; custom code only when the config asks --------------------------


def custom_code_folder(tiny_model_dir, folder: Path, model_type: str, marker: Path) -> Path:
    """A model folder whose config asks for its own Python code, which would leave
    `marker` behind if it ever ran."""
    copy_model(tiny_model_dir, folder)
    for name in ["config.json", "tokenizer_config.json"]:
        settings = json.loads((folder / name).read_text())
        settings["auto_map"] = {"AutoConfig": "custom.Config", "AutoModelForCausalLM": "custom.Model",
                                "AutoTokenizer": [None, "custom.Tokenizer"]}
        if name == "config.json":
            settings["model_type"] = model_type
        (folder / name).write_text(json.dumps(settings))
    (folder / "custom.py").write_text(textwrap.dedent(f"""
        import pathlib
        pathlib.Path({str(marker)!r}).write_text("custom code ran")
        from transformers import LlamaConfig as Config, LlamaForCausalLM as Model, PreTrainedTokenizerFast as Tokenizer
    """))
    return folder


def test_custom_model_code_never_runs_unless_asked(tmp_path, tiny_model_dir):
    import inspect

    for function in (load_model, load_tokenizer, materialize):
        assert inspect.signature(function).parameters["trust_remote_code"].default is False
    marker = tmp_path / "ran"
    # An architecture transformers does not know needs the folder's code: refused, named.
    unknown = custom_code_folder(tiny_model_dir, tmp_path / "unknown-arch", "my_arch", marker)
    with pytest.raises(ModelError, match=rf"(?s)cannot load model folder {re.escape(str(unknown))}: .*trust_remote_code=True"):
        load_model(unknown)
    with pytest.raises(ModelError, match=r"(?s)cannot load hub model .*unknown-arch.*trust_remote_code=True"):
        materialize(ModelSource("hub", str(unknown)), tmp_path / "materialised")
    assert not (tmp_path / "materialised").exists()
    # A known architecture loads with transformers' own code, never the folder's.
    known = custom_code_folder(tiny_model_dir, tmp_path / "known-arch", "llama", marker)
    assert type(load_model(known)).__name__ == "LlamaForCausalLM"
    load_tokenizer(known)
    assert not marker.exists(), "the folder's code ran"


@pytest.mark.slow
def test_a_local_folder_whose_code_the_config_trusts_runs_it_in_every_job(tmp_path, tiny_model_dir):
    """trust_remote_code: true for a local folder reaches the jobs that load it (issue 29:
    it was honoured only when a hub model was materialised)."""
    marker = tmp_path / "ran"
    folder = custom_code_folder(tiny_model_dir, tmp_path / "model", "my_arch", marker)
    config = tiny_config()
    config["experiments"] = ["continual"]
    config["base_model"] = {"source": str(folder), "trust_remote_code": True}
    write_config(tmp_path, config)
    # The base model's evaluation: its tokenizer (the blocks) and the model itself.
    run_snakemake(tmp_path, "results/continual/base/eval/A.json")
    assert marker.read_text() == "custom code ran"
    log = (tmp_path / "results/logs/evaluate_continual_model/base.log").read_text()
    assert "loss" in log


@pytest.mark.slow
def test_a_custom_code_model_trains_resumes_from_a_checkpoint_and_exports(tmp_path, tiny_model_dir):
    """Issue 39: with its code trusted, a folder whose auto_map names its own code failed
    the first checkpoint (transformers' copy of the custom classes' modules). Killed at its
    first checkpoint, the instruct training resumes from it, and the export loads with
    its code beside it, as the folder did."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from conftest import kill_at_first_checkpoint

    marker = tmp_path / "ran"
    folder = custom_code_folder(tiny_model_dir, tmp_path / "model", "my_arch", marker)
    config = tiny_config()
    config["experiments"] = ["instruct"]
    config["instruct"].pop("base_model", None)
    config["base_model"] = {"source": str(folder), "trust_remote_code": True}
    workdir = tmp_path / "run"
    workdir.mkdir()
    write_config(workdir, config)
    kill_at_first_checkpoint(workdir, "results/instruct/checkpoints", "results/instruct/export")
    run_snakemake(workdir, "--unlock")  # a killed Snakemake leaves its lock
    run_snakemake(workdir, "results/instruct/export")
    assert "resuming from checkpoint" in (workdir / "results/logs/train_instruct.log").read_text()
    export = workdir / "results/instruct/export"
    assert (export / "custom.py").read_bytes() == (folder / "custom.py").read_bytes()
    marker.unlink()
    model = AutoModelForCausalLM.from_pretrained(str(export), trust_remote_code=True)
    tokenizer = AutoTokenizer.from_pretrained(str(export), trust_remote_code=True)
    assert marker.read_text() == "custom code ran"  # the export's own copy of the code
    assert model.config.auto_map["AutoModelForCausalLM"] == "custom.Model" and tokenizer("hola").input_ids


def test_a_hub_model_with_pickle_weights_only_is_refused(tmp_path, tiny_model_dir):
    """Materialising reads safetensors only, never a pickle (pytorch_model.bin)."""
    folder = copy_model(tiny_model_dir, tmp_path / "pickled")
    pickle_weights_only(folder)
    with pytest.raises(ModelError, match=r"(?s)cannot load hub model .*pickled.*model\.safetensors"):
        materialize(ModelSource("hub", str(folder)), tmp_path / "materialised")
    assert not (tmp_path / "materialised").exists()
