"""An experiment is a plug-in: a toy one added to a copy of the checkout, as its package
(its declaration and its config section's schema) and its rules file, with no other file
touched, runs beside another experiment of the matrix, has its setting swept into a
branch of its own, and enters the cross-experiment matrix."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import yaml

from conftest import REPO, run_snakemake, tiny_config, write_config

TOY_DECLARATION = '''"""A toy experiment: writes a few words, and a held-out set of them for the matrix."""

from lmtune.core.declaration import Experiment
from lmtune.core.schema import ConfigError


def check_toy(config, workdir):
    if config["toy"]["words"] > 50:
        raise ConfigError(f"toy.words ({config['toy']['words']}) is above 50")


EXPERIMENT = Experiment(
    name="toy",
    order=9,
    check=check_toy,
    training_specs=lambda config: {},
    metrics_file="toy/metrics.json",
    headline=lambda metrics: {"toy/words": metrics["words"]},
    in_cross_matrix=True,
)
'''

TOY_SCHEMA = """type: object
additionalProperties: false
description: A toy experiment.
properties:
  words: {type: integer, minimum: 1, default: 3, description: words written}
"""

# The toy's final model is its base model under an id of its own: cross_evaluate scores it
# on every set, and every model is scored on the toy's set.
TOY_RULES = '''
import json

TOY = f"{RESULTS}/toy"
TARGETS["toy"] = [f"{TOY}/metrics.json"]


def toy_cross_matrix(matrix):
    matrix.add_model("toy_model", "toy", BASE_MODELS["toy"])
    matrix.add_set("toy_held_out", {"kind": "snippets", "path": f"{TOY}/held_out.jsonl", "block_size": 16, "batch_size": 8})


CROSS_MATRIX["toy"] = toy_cross_matrix


rule toy_words:
    output:
        metrics=f"{TOY}/metrics.json",
        held_out=f"{TOY}/held_out.jsonl",
    log:
        f"{LOGS}/toy_words.log",
    params:
        words=config["toy"]["words"],
    localrule: True
    run:
        words = ["alfa", "beta", "gamma", "delta"] * 8 * params.words
        Path(output.held_out).write_text(json.dumps({"code": " ".join(words)}) + "\\n")
        Path(output.metrics).write_text(json.dumps({"words": params.words}))
        Path(log[0]).write_text("done\\n")
'''


def checkout_with_toy(folder):
    """This checkout's workflow and library, with the toy experiment added: its package
    and its rules file, no other file changed."""
    shutil.copy2(REPO / "Snakefile", folder / "Snakefile")
    for name in ("workflow", "src", "profiles", "envs"):
        shutil.copytree(REPO / name, folder / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    package = folder / "src/lmtune/toy"
    package.mkdir()
    (package / "__init__.py").write_text('"""A toy experiment."""\n')
    (package / "experiment.py").write_text(TOY_DECLARATION)
    (package / "schema.yaml").write_text(TOY_SCHEMA)
    (folder / "workflow/rules/toy.smk").write_text(TOY_RULES)
    return folder / "Snakefile"


def toy_config(**toy):
    """The tiny setting's arithmetic experiment (its cheapest of the matrix), one LoRA
    step on an unquantised base, and the toy."""
    config = {key: value for key, value in tiny_config().items() if key not in ("continual", "java", "instruct")}
    config["arithmetic"]["lora"]["quantize_4bit"] = False
    config["arithmetic"]["training"]["max_steps"] = 1
    config["toy"] = toy
    return config


def test_a_toy_experiment_runs_sweeps_and_enters_the_cross_matrix(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    snakefile = checkout_with_toy(code)

    # Run beside arithmetic: its own job, its headline file and the cross matrix.
    run = tmp_path / "run"
    run.mkdir()
    write_config(run, toy_config())
    run_snakemake(run, snakefile=snakefile)
    assert json.loads((run / "results/toy/metrics.json").read_text()) == {"words": 3}  # the schema's default
    matrix = pd.read_csv(run / "results/cross/matrix.csv")
    assert list(dict.fromkeys(matrix["model"])) == ["base", "arithmetic_lora", "toy_model"]
    assert list(dict.fromkeys(matrix["set"])) == ["arithmetic_held_out", "toy_held_out"]
    toy_on_own_set = matrix[(matrix["model"] == "toy_model") & (matrix["set"] == "toy_held_out")]
    assert toy_on_own_set["loss_change_vs_base"].tolist() == [0.0]  # the base model, under its own id

    # Its check runs at load, its schema judges its section.
    too_many = tmp_path / "too_many"
    too_many.mkdir()
    write_config(too_many, toy_config(words=51))
    failed = run_snakemake(too_many, "-n", check=False, snakefile=snakefile)
    assert failed.returncode != 0 and "toy.words (51) is above 50" in failed.stdout
    write_config(too_many, toy_config(word=3))
    failed = run_snakemake(too_many, "-n", check=False, snakefile=snakefile)
    assert failed.returncode != 0 and "config toy: Additional properties are not allowed ('word'" in failed.stdout

    # A sweep of its setting: a branch of its own, in the study table by its headline.
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["sweeps"] = {"mode": "one_at_a_time", "settings": {"toy.words": [5]}}
    write_config(run, config)
    run_snakemake(run, "--config", "experiments=[toy]", snakefile=snakefile)
    study = pd.read_csv(run / "results/study.csv")
    branch = study[study["toy.words"] == 5]
    assert len(study) == 2 and branch["toy/words"].tolist() == [5]
    [branch_folder] = (run / "results/study").iterdir()
    assert json.loads((branch_folder / "toy/metrics.json").read_text()) == {"words": 5}
