"""LoRA: only a LoRA adapter trains; it is merged into the weights at the end of the
phase, and the next phase trains a fresh one."""

from __future__ import annotations

from lmtune.continual.strategies import Strategy
from lmtune.core.schema import definition

# The config's LoRA settings but 4-bit: the adapter is merged into the weights it trains on.
_LORA = definition("lora")


class LoRA(Strategy):
    method = "lora"
    settings_schema = {key: value for key, value in _LORA["properties"].items() if key != "quantize_4bit"}
    required = tuple(_LORA["required"])

    def adapter(self, settings):
        return {key: settings[key] for key in self.required}
