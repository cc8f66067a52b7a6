"""Learning-rate re-warming and re-decay with replay (Ibrahim et al. 2024), a strategy
added as a plug-in: its settings are checked, and a phase trained under it warms the
learning rate up, decays it along a cosine to its floor, and replays earlier blocks."""

import logging

import pandas as pd
import pytest

from lmtune import recipe
from lmtune.continual.strategies import StrategyError, check_strategy
from lmtune.core.blocks import tokenize_to_dataset

SETTINGS = {"method": "rewarm_replay", "fraction": 0.25, "warmup": 0.25, "min_lr_ratio": 0.1}


@pytest.mark.parametrize("settings, message", [
    ({"method": "rewarm_replay", "fraction": 0.25, "warmup": 0.25}, "'min_lr_ratio' is a required property"),
    ({**SETTINGS, "fraction": 1.5}, r"continual.strategies.mine.fraction: 1.5 is greater than or equal to the maximum of 1"),
    ({**SETTINGS, "weight": 1.0}, "Additional properties are not allowed"),
])
def test_bad_settings_are_named(settings, message):
    with pytest.raises(StrategyError, match=message):
        check_strategy("mine", dict(settings))


def test_a_phase_rewarms_decays_to_its_floor_and_replays(tmp_path, tiny_model_dir, tiny_tokenizer, caplog):
    for domain, text in [("A", "la inteligencia artificial es un modelo"), ("B", "el reglamento de la universidad")]:
        tokenize_to_dataset([text] * 12, tiny_tokenizer, block_size=8).save_to_disk(str(tmp_path / domain))
    phase = {"epochs": 1, "max_steps": 8, "learning_rate": 1e-3, "batch_size": 1, "block_size": 8}
    config = {
        "compute": {"device": "cpu", "precision": "fp32", "processes": 1, "fsdp": False, "liger_kernel": False,
                    "torch_compile": False},
        "continual": {"order": ["A", "B"], "phases": {"A": phase, "B": phase}, "strategies": {"rewarm": SETTINGS}},
    }
    caplog.set_level(logging.INFO)
    assert recipe.earlier_domains(config, "rewarm", "B") == ["A"]
    spec = recipe.continual_phase(config, "rewarm", 0, "B")
    recipe.train(
        spec, model=tiny_model_dir, data=tmp_path / "B", earlier_data=[tmp_path / "A"], out_dir=tmp_path / "model",
        loss_log=tmp_path / "loss.csv", checkpoint_dir=tmp_path / "checkpoints", progress=False,
    )
    assert "replay: 15 blocks of this domain + 5 of earlier domains (25%)" in caplog.text
    rates = pd.read_csv(tmp_path / "loss.csv")["learning_rate"].tolist()
    assert len(rates) == 8
    peak = rates.index(max(rates))
    assert 0 < peak <= 2 and rates[0] < rates[peak]  # warmed up over a quarter of the steps
    assert all(a >= b for a, b in zip(rates[peak:], rates[peak + 1:]))  # then decays
    assert min(rates[peak:]) >= 0.999e-4  # never below its floor, a tenth of the peak
    assert rates[-1] < 0.2 * max(rates)  # and close to it by the end
