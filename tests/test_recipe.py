"""The recipe layer: every training job's spec built from the config in one place, the
sharing of phases that train alike, the strategies' pieces found through their plug-ins,
and precision honoured by every model load."""

import copy
import re

import pytest
import torch

from conftest import REPO, tiny_config
from lmtune import recipe
from lmtune.continual.strategies import StrategyError, registry
from lmtune.pipeline.continual import ContinualJobs
from lmtune.core.adapters import load_for_inference, load_for_training
from lmtune.core.training import TrainSettings


@pytest.fixture
def config():
    """The tiny setting with its schema defaults filled in, as the workflow sees it."""
    from lmtune.core.schema import check_schema, fill_defaults
    from lmtune.experiments import config_schema

    config = tiny_config()
    check_schema(config, config_schema())
    fill_defaults(config, config_schema())
    return config


def test_a_spec_survives_the_round_trip_through_the_jobs_params(config):
    specs = recipe.planned_specs(config, ["continual", "arithmetic", "java", "instruct"])
    assert list(specs) == ["continual", "arithmetic", "java", "instruct"] and all(specs.values())
    for spec in (spec for own in specs.values() for spec in own.values()):
        assert recipe.TrainingSpec.from_dict(spec.to_dict()) == spec
        assert recipe.TrainingSpec.from_dict(spec.to_dict()).to_dict() == spec.to_dict()


def test_defaults_live_in_the_optimisation_settings_only(config):
    config = copy.deepcopy(config)
    config["java"]["instruct_runs"]["first"] = {"epochs": 1, "learning_rate": 1e-4, "batch_size": 4}
    spec = recipe.java_instruct(config, "first")
    assert spec.optimisation == TrainSettings(epochs=1, learning_rate=1e-4, batch_size=4)
    assert spec.objective == "completions" and spec.adapter is None and spec.strategy is None


def test_the_instruct_spec_is_lora_where_the_section_has_it_else_full_fine_tuning(config):
    lora = recipe.instruct(config)
    assert lora.objective == "completions" and not lora.packing
    assert lora.adapter == recipe.Adapter(r=4, alpha=8, dropout=0.0, target_modules=("q_proj", "v_proj"))
    full = copy.deepcopy(config)
    del full["instruct"]["lora"]
    full["instruct"]["packing"] = True
    spec = recipe.instruct(full)
    assert spec.adapter is None and spec.packing and spec.optimisation == lora.optimisation


def test_phases_that_train_alike_are_shared_with_the_sequential_strategy(config):
    config = copy.deepcopy(config)
    config["continual"]["strategies"] = {
        "sequential": {"method": "sequential"},
        "replay": {"method": "replay", "fraction": 0.25},
        "faster": {"method": "sequential", "training": {"learning_rate": 1e-2}},
        "rewarm": {"method": "rewarm_replay", "fraction": 0.05, "warmup": 0.1, "min_lr_ratio": 0.1},
    }
    jobs = ContinualJobs({**config, "results": "results"}, "no-model")
    owner = {name: [jobs.phase_owner(name, 0, phase) for phase in "AB"] for name in config["continual"]["strategies"]}
    assert owner["sequential"] == ["sequential", "sequential"]
    assert owner["replay"] == ["sequential", "replay"]  # nothing to replay in phase A
    assert owner["faster"] == ["faster", "faster"]  # its own learning rate from the start
    assert owner["rewarm"] == ["rewarm", "rewarm"]  # its schedule applies to phase A too
    assert recipe.earlier_domains(config, "replay", "B") == ["A"]
    assert recipe.earlier_domains(config, "replay", "A") == []
    assert recipe.earlier_domains(config, "sequential", "B") == []


def test_the_strategys_pieces_come_from_its_plug_in(config):
    config = copy.deepcopy(config)
    config["continual"]["strategies"]["low_rank"] = {
        "method": "lora", "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj"], "training": {"learning_rate": 1e-3},
    }
    spec = recipe.continual_phase(config, "low_rank", 1, "B")
    assert spec.adapter == recipe.Adapter(r=4, alpha=8, dropout=0.0, target_modules=("q_proj",), merge=True)
    assert spec.optimisation.learning_rate == 1e-3 and spec.seed == 1
    assert recipe.earlier_domains(config, "ewc", "B") == ["A"]  # the Fisher of the last domain


def test_a_target_naming_an_unconfigured_strategy_is_an_error(config):
    with pytest.raises(StrategyError, match="continual strategy 'nowhere' is not configured"):
        recipe.continual_phase(config, "nowhere", 0, "A")


def test_every_strategy_module_is_a_registered_plug_in():
    modules = {path.stem for path in (REPO / "src/lmtune/continual/strategies").glob("*.py") if not path.stem.startswith("_")}
    plug_ins = {cls.__module__.rsplit(".", 1)[-1] for cls in registry().values()} - {"strategies"}
    assert plug_ins == modules
    assert {"sequential", "replay", "l2sp", "ewc", "lora", "rewarm_replay"} <= set(registry())


def test_no_rule_or_script_names_a_strategy():
    # "sequential" is also the folder of shared first phases; "lora" also the arithmetic
    # experiment's section and model.
    names = set(registry()) - {"sequential", "lora"}
    for path in [*(REPO / "workflow/rules").rglob("*.smk"), *(REPO / "workflow/scripts").glob("*.py")]:
        text = path.read_text()
        assert not re.search(r"\[.method.\]|\.method\b", text), f"{path.name} reads a strategy's method"
        for name in names:
            assert f'"{name}"' not in text and f"'{name}'" not in text, f"{path.name} names strategy {name}"


@pytest.mark.parametrize("precision, dtype", [("fp32", torch.float32), ("bf16", torch.bfloat16)])
def test_evaluation_and_generation_load_in_the_compute_precision(tiny_model_dir, tmp_path, precision, dtype):
    from peft import LoraConfig, get_peft_model

    assert {p.dtype for p in load_for_inference(tiny_model_dir, "cpu", precision).parameters()} == {dtype}
    adapter = tmp_path / "adapter"
    get_peft_model(load_for_training(tiny_model_dir, "cpu", "fp32"), LoraConfig(r=2, target_modules=["q_proj"])).save_pretrained(adapter)
    adapted = load_for_inference(tiny_model_dir, "cpu", precision, adapter=adapter)
    assert {p.dtype for p in adapted.parameters()} == {dtype}
    # Training keeps fp32 master weights; the Trainer computes in the precision (AMP).
    assert {p.dtype for p in load_for_training(tiny_model_dir, "cpu", precision).parameters()} == {torch.float32}


def test_every_workflow_script_loads_models_through_the_two_loaders():
    for path in (REPO / "workflow/scripts").glob("*.py"):
        text = path.read_text()
        for loader in ("from_pretrained(", "load_model(", "AutoModel"):
            assert loader not in text, f"{path.name} loads a model with {loader}: use load_for_inference or lmtune.recipe.train"
