"""Strategies against forgetting: replay mixing, the weight anchor of L2-SP and EWC, the
diagonal Fisher, LoRA phases merged into plain models, and the summary over seeds."""

import pytest
import torch
from safetensors.torch import load_file

from lmtune.core.blocks import tokenize_to_dataset
from lmtune.continual.metrics import metrics_report, summarise_runs, summary_rows
from lmtune.core.models import load_model, load_tokenizer
from lmtune.continual.strategies import StrategyError, check_strategy
from lmtune.continual.strategies.ewc import diagonal_fisher
from lmtune.continual.strategies.l2sp import WeightAnchor
from lmtune.continual.strategies.replay import replay_mix
from lmtune.core.adapters import add_lora
from lmtune.core.training import TrainSettings, train_causal_lm

TEXT_A = ["la inteligencia artificial es un modelo de datos"] * 6
TEXT_B = ["el reglamento de la universidad es una norma"] * 6


@pytest.fixture
def blocks(tiny_tokenizer):
    return {
        "A": tokenize_to_dataset(TEXT_A, tiny_tokenizer, block_size=8),
        "B": tokenize_to_dataset(TEXT_B, tiny_tokenizer, block_size=8),
    }


def test_replay_mixes_the_configured_share_of_earlier_blocks(blocks):
    mixed = replay_mix(blocks["B"], [blocks["A"]], fraction=0.25, seed=0)
    replayed = len(mixed) - len(blocks["B"])
    assert replayed == round(len(blocks["B"]) / 3)  # 25% of the mix
    earlier = {tuple(row["input_ids"]) for row in blocks["A"]}
    assert all(tuple(row["input_ids"]) in earlier for row in mixed.select(range(len(blocks["B"]), len(mixed))))
    assert replay_mix(blocks["B"], [blocks["A"]], 0.25, 0)["input_ids"] == mixed["input_ids"]
    assert replay_mix(blocks["B"], [], 0.25, 0) is blocks["B"]


def test_the_anchor_is_zero_at_the_start_and_grows_with_the_distance(tiny_model_dir):
    model = load_model(tiny_model_dir)
    anchor = WeightAnchor(model, weight=2.0)
    assert float(anchor(model).detach()) == 0.0
    weight = model.model.norm.weight
    with torch.no_grad():
        weight += 0.5
    assert float(anchor(model).detach()) == pytest.approx(0.5 * 2.0 * 0.25 * weight.numel())
    importance = {name: torch.zeros_like(p) for name, p in model.named_parameters()}
    importance["model.norm.weight"] = torch.full_like(weight, 4.0)
    assert float(WeightAnchor(model, 2.0, importance)(model).detach()) == 0.0  # anchored at the moved weights
    model_b = load_model(tiny_model_dir)
    ewc = WeightAnchor(model_b, 2.0, importance)
    with torch.no_grad():
        model_b.model.norm.weight += 0.5
    assert float(ewc(model_b).detach()) == pytest.approx(4.0 * 0.5 * 2.0 * 0.25 * weight.numel())


def test_the_diagonal_fisher_covers_every_trainable_weight_with_mean_one(tiny_model_dir, blocks):
    model = load_model(tiny_model_dir)
    fisher = diagonal_fisher(model, blocks["A"], samples=3, seed=0)
    assert set(fisher) == {name for name, p in model.named_parameters() if p.requires_grad}
    values = torch.cat([f.flatten() for f in fisher.values()])
    assert float(values.mean()) == pytest.approx(1.0, rel=1e-5) and float(values.min()) >= 0
    assert all(p.grad is None for p in model.parameters()), "no gradient left behind"


def train(model, tokenizer, data, folder, **kwargs):
    settings = TrainSettings(epochs=1, max_steps=4, batch_size=2, learning_rate=1e-2)
    train_causal_lm(
        model=model, tokenizer=tokenizer, train_data=data, out_dir=folder / "model",
        loss_log=folder / "loss.csv", checkpoint_dir=folder / "checkpoints",
        settings=settings, seed=0, progress=False, **kwargs,
    )
    return load_file(folder / "model" / "model.safetensors")


def distance(weights, start):
    return sum(float((weights[name] - start[name]).pow(2).sum()) for name in start)


def test_a_strong_anchor_keeps_the_weights_near_their_start(tmp_path, tiny_model_dir, blocks):
    tokenizer = load_tokenizer(tiny_model_dir)
    start = load_file(tiny_model_dir / "model.safetensors")
    free = train(load_model(tiny_model_dir), tokenizer, blocks["B"], tmp_path / "free")
    model = load_model(tiny_model_dir)
    anchored = train(model, tokenizer, blocks["B"], tmp_path / "anchored", penalty=WeightAnchor(model, weight=1e4))
    assert 0 < distance(anchored, start) < 0.5 * distance(free, start)


def test_a_lora_phase_writes_a_plain_model_with_the_adapter_merged(tmp_path, tiny_model_dir, blocks):
    tokenizer = load_tokenizer(tiny_model_dir)
    settings = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["k_proj", "v_proj", "o_proj"]}
    model = add_lora(load_model(tiny_model_dir), settings, quantized=False, seed=0)
    merged = train(model, tokenizer, blocks["B"], tmp_path, merge_adapter=True)
    assert not (tmp_path / "model" / "adapter_config.json").exists()
    start = load_file(tiny_model_dir / "model.safetensors")
    assert set(merged) == set(start)
    changed = {name for name in start if not torch.equal(start[name], merged[name])}
    assert changed and all(any(m in name for m in settings["target_modules"]) for name in changed)
    load_model(tmp_path / "model")  # loads as an ordinary model


@pytest.mark.parametrize("name, settings, message", [
    ("mine", {"method": "dropout"}, "continual.strategies.mine: unknown method 'dropout'"),
    ("sequential", {"method": "replay", "fraction": 0.1}, "the name 'sequential' is kept"),
])
def test_bad_strategies_are_named(name, settings, message):
    with pytest.raises(StrategyError, match=message):
        check_strategy(name, settings)


def fake_report(losses):
    """A two-domain run whose R matrix is `losses` (rows base, after_A, after_B)."""
    evals = {
        f"{stage}_{domain}": {"eval_loss": losses[i][j], "eval_perplexity": 0.0, "eval_tokens": 10}
        for i, stage in enumerate(["base", "after_A", "after_B"])
        for j, domain in enumerate("AB")
    }
    return metrics_report(evals, ["A", "B"])


def test_the_summary_gives_mean_and_spread_over_seeds():
    runs = {
        "sequential": {0: fake_report([[3, 3], [2, 2.9], [2.4, 2.0]]), 1: fake_report([[3, 3], [2, 2.9], [2.6, 2.2]])},
        "lora": {0: fake_report([[3, 3], [2.5, 3], [2.5, 2.6]])},
    }
    summary = summarise_runs(runs)
    forgetting = summary["strategies"]["sequential"]["measures"]["forgetting_A"]
    assert forgetting["values"] == pytest.approx([0.4, 0.6])
    assert forgetting["mean"] == pytest.approx(0.5) and forgetting["std"] == pytest.approx(0.1414213, rel=1e-5)
    assert summary["strategies"]["lora"]["measures"]["forgetting_A"]["std"] is None
    assert summary["strategies"]["sequential"]["loss_matrix_mean"][2] == pytest.approx([2.5, 2.1])
    rows = {row["strategy"]: row for row in summary_rows(summary)}
    assert rows["sequential"]["seeds"] == 2 and rows["lora"]["learning_B_mean"] == pytest.approx(0.4)
