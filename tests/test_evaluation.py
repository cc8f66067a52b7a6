import math

import pytest
import torch

from lmtune.core.blocks import load_blocks, make_blocks
from lmtune.core.evaluation import evaluate_lm
from lmtune.core.models import load_model


def independent_nll(model, sequences):
    """Sum of -log p(token | prefix) computed sequence by sequence, with no padding at all."""
    total, count = 0.0, 0
    with torch.no_grad():
        for ids in sequences:
            logits = model(input_ids=torch.tensor([ids])).logits[0]
            logprobs = torch.log_softmax(logits.double(), dim=-1)
            for position in range(len(ids) - 1):
                total -= float(logprobs[position, ids[position + 1]])
                count += 1
    return total, count


@pytest.fixture
def uneven_blocks(tmp_path, tiny_model_dir):
    import datasets

    # 23 tokens in blocks of 8: two full blocks and a padded one of 7 real tokens.
    ids = [(7 * i + 3) % 30 + 3 for i in range(23)]
    columns = make_blocks(ids, block_size=8, pad_id=2)
    datasets.Dataset.from_dict(columns).save_to_disk(str(tmp_path / "blocks"))
    real = [[t for t, m in zip(row, mask) if m] for row, mask in zip(columns["input_ids"], columns["attention_mask"])]
    return load_blocks(tmp_path / "blocks"), real


def test_loss_is_total_nll_over_predicted_tokens(tiny_model_dir, uneven_blocks):
    dataset, sequences = uneven_blocks
    model = load_model(tiny_model_dir)
    result = evaluate_lm(model, dataset, batch_size=2, progress=False)
    total, count = independent_nll(model, sequences)
    assert result.eval_tokens == count == 7 + 7 + 6
    assert result.eval_loss == pytest.approx(total / count, rel=1e-5)
    assert result.eval_perplexity == pytest.approx(math.exp(total / count), rel=1e-5)
    # The batch size must not change the figure.
    assert evaluate_lm(model, dataset, batch_size=3, progress=False).eval_loss == pytest.approx(result.eval_loss, rel=1e-6)


def test_a_mean_of_batch_means_would_differ(tiny_model_dir, uneven_blocks):
    """Why the figure is summed per token: batches of unequal token counts bias a mean of means."""
    dataset, sequences = uneven_blocks
    model = load_model(tiny_model_dir)
    per_batch = [independent_nll(model, batch) for batch in (sequences[:2], sequences[2:])]
    mean_of_means = sum(t / c for t, c in per_batch) / 2
    result = evaluate_lm(model, dataset, batch_size=2, progress=False)
    assert abs(mean_of_means - result.eval_loss) > 1e-4
