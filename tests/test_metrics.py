import math

import pytest

from lmtune.continual.metrics import continual_metrics, metrics_report, stage_names


def evals_from(matrix, order):
    return {
        f"{stage}_{domain}": {"eval_loss": loss, "eval_perplexity": math.exp(loss), "eval_tokens": 10}
        for stage, row in zip(stage_names(order), matrix)
        for domain, loss in zip(order, row)
    }


def test_two_domains_give_the_seed_keys_forgetting_and_gain():
    # rows: base, after A, after B; columns: A, B
    matrix = [[5.0, 5.2], [4.0, 5.1], [4.6, 3.9]]
    report = metrics_report(evals_from(matrix, ["A", "B"]), ["A", "B"])
    for key in ["base_A", "base_B", "after_A_A", "after_A_B", "after_B_A", "after_B_B"]:
        assert set(report[key]) == {"eval_loss", "eval_perplexity", "eval_tokens"}
    assert report["forgetting_A"] == pytest.approx(4.6 - 4.0)
    assert report["learning_B"] == pytest.approx(5.1 - 3.9)
    summary = report["continual"]["summary"]
    assert summary["backward_transfer"] == pytest.approx(4.0 - 4.6)
    assert summary["final_average_loss"] == pytest.approx((4.6 + 3.9) / 2)
    assert report["continual"]["domains"]["B"]["forward_transfer"] == pytest.approx(5.2 - 5.1)


def test_three_domains_use_the_diagonal():
    matrix = [[3.0, 3.0, 3.0], [2.0, 2.9, 3.1], [2.5, 2.0, 3.2], [2.7, 2.4, 1.5]]
    result = continual_metrics(evals_from(matrix, ["x", "y", "z"]), ["x", "y", "z"])
    assert result["domains"]["x"]["forgetting"] == pytest.approx(0.7)
    assert result["domains"]["y"]["forgetting"] == pytest.approx(0.4)
    assert result["domains"]["z"]["forgetting"] == pytest.approx(0.0)
    assert result["domains"]["z"]["forward_transfer"] == pytest.approx(3.0 - 3.2)
    assert result["summary"]["backward_transfer"] == pytest.approx(-(0.7 + 0.4) / 2)
