"""LoRA: only a LoRA adapter trains; it is merged into the weights at the end of the
phase, and the next phase trains a fresh one."""

from __future__ import annotations

from lmtune.continual.strategies import Strategy
from lmtune.core.adapters import LORA_SETTINGS


class LoRA(Strategy):
    method = "lora"
    settings_schema = LORA_SETTINGS
    required = ("r", "alpha", "dropout", "target_modules")

    def adapter(self, settings):
        return {key: settings[key] for key in self.required}
