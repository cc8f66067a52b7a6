"""Figures of the continual pre-training experiment."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: jobs run without a display
import matplotlib.pyplot as plt
import pandas as pd

from .metrics import stage_names


def plot_perplexity(metrics: dict, path: str | Path) -> None:
    """Perplexity on each domain at every stage, one line per domain."""
    order = metrics["continual"]["order"]
    stages = stage_names(order)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for index, domain in enumerate(order):
        values = [metrics[f"{stage}_{domain}"]["eval_perplexity"] for stage in stages]
        ax.plot(stages, values, marker="o", label=f"test {domain}")
        for x, y in zip(stages, values):
            ax.annotate(f"{y:.1f}", (x, y), textcoords="offset points", xytext=(0, 7 if index % 2 == 0 else -13), ha="center", fontsize=8)
    ax.set_xlabel("stage")
    ax.set_ylabel("perplexity (lower is better)")
    ax.set_title("Perplexity per domain through continual pre-training")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_training_loss(loss_logs: dict[str, str | Path], path: str | Path) -> None:
    """Training loss per step, phases laid end to end."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    offset = 0
    for phase, log_file in loss_logs.items():
        frame = pd.read_csv(log_file)
        ax.plot(frame["step"] + offset, frame["loss"], marker=".", label=f"phase {phase}")
        offset += int(frame["step"].max()) if len(frame) else 0
    ax.set_xlabel("optimizer step (cumulative)")
    ax.set_ylabel("training loss")
    ax.set_title("Training loss per phase")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
