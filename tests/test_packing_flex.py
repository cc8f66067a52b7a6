"""Packing under flex_attention keeps the packed examples apart: transformers builds a
document mask from the position ids that restart at each example, so a packed row gives
each example the logits it gets alone. (Run on a CPU, where flex_attention is compiled by
inductor: not timed; whether packing under it beats padding is a GPU measurement,
benchmarks/padding.py --attention flex_attention.)"""

import pytest
import torch

from conftest import tiny_models
from lmtune.core.completions import PACKING_ATTENTION


@pytest.mark.slow
def test_a_packed_row_under_flex_attention_gives_each_example_its_own_logits():
    from transformers import AutoModelForCausalLM

    assert "flex_attention" in PACKING_ATTENTION
    model = AutoModelForCausalLM.from_pretrained(str(tiny_models()["tiny-llama"]), attn_implementation="flex_attention",
                                                 dtype=torch.float32).eval()
    model.config.use_cache = False  # as packing_collator sets it
    generator = torch.Generator().manual_seed(0)
    first, second = torch.randint(5, 1000, (1, 7), generator=generator), torch.randint(5, 1000, (1, 5), generator=generator)
    positions = torch.cat([torch.arange(7), torch.arange(5)]).unsqueeze(0)
    with torch.no_grad():
        packed = model(input_ids=torch.cat([first, second], 1), position_ids=positions).logits
        alone = torch.cat([model(input_ids=first).logits, model(input_ids=second).logits], 1)
        unmasked = model(input_ids=torch.cat([first, second], 1)).logits  # no restart: the second sees the first
    torch.testing.assert_close(packed, alone, atol=1e-5, rtol=1e-5)
    assert (unmasked[:, 7:] - alone[:, 7:]).abs().max() > 1e-3  # the check can fail: attending across shows
