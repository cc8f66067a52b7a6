"""The cross-experiment matrix reads a (model, set) pair another rule evaluated."""

import json

from lmtune.cross import cross_rows, gather_results


def record(loss):
    return {"eval_loss": loss, "eval_perplexity": 2.0, "eval_tokens": 10}


def test_shared_pairs_are_read_from_their_file_and_the_rest_from_the_model_s_own_evaluation(tmp_path):
    (tmp_path / "A.json").write_text(json.dumps(record(1.5)))
    models = {
        "base": {"base": "base", "evaluations": {"continual_A": str(tmp_path / "A.json")}},
        "lora": {"base": "base", "evaluations": {}},
    }
    computed = {"base": {"arithmetic": record(3.0)}, "lora": {"arithmetic": record(0.5), "continual_A": record(4.0)}}
    results = gather_results(models, ["continual_A", "arithmetic"], computed)
    assert results == {
        "base": {"continual_A": record(1.5), "arithmetic": record(3.0)},
        "lora": {"continual_A": record(4.0), "arithmetic": record(0.5)},
    }
    rows = cross_rows(results, {"base": "base", "lora": "base"})
    assert [(r["model"], r["set"], r["loss_change_vs_base"]) for r in rows] == [
        ("base", "continual_A", 0.0), ("base", "arithmetic", 0.0), ("lora", "continual_A", 2.5), ("lora", "arithmetic", -2.5),
    ]
