"""What every figure shares: headless matplotlib, one way to save, one way to print a value."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: jobs run without a display
import matplotlib.pyplot as plt


def save(fig, path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def figure_text(value: float | None, form: str = "{:.2f}") -> str:
    """A metric as text; one that could not be computed (None) reads "n/a", never 0."""
    return "n/a" if value is None else form.format(value)
