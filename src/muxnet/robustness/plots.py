"""Pictures of a robustness run: the corruption x severity heat-map and the per-corruption model comparison."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .corruptions import CORRUPTIONS, SEVERITIES


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def heatmap(errors: Mapping[str, Mapping[Any, Mapping[str, float]]], path: str | Path, title: str,
            key: str = "top1_error") -> Path:
    """Rows: corruptions, columns: severities, cells: ``key`` (percent); missing cells are left blank."""
    import numpy as np

    plt = _pyplot()
    names = [c for c in CORRUPTIONS if c in errors]
    grid = np.full((len(names), len(SEVERITIES)), np.nan)
    for i, name in enumerate(names):
        for j, s in enumerate(SEVERITIES):
            cell = errors[name].get(s, errors[name].get(str(s)))
            if cell is not None:
                grid[i, j] = cell[key]
    fig, ax = plt.subplots(figsize=(5.2, 0.32 * len(names) + 1.4))
    image = ax.imshow(grid, cmap="magma_r", vmin=0, vmax=100, aspect="auto")
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            if not math.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if grid[i, j] > 55 else "black")
    ax.set_xticks(range(len(SEVERITIES)), [str(s) for s in SEVERITIES])
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xlabel("severity")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, label=key.replace("_", " ") + " (%)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def comparison_bars(models: Mapping[str, Mapping[str, Any]], path: str | Path, title: str) -> Path:
    """Per corruption, one bar per model: the mean top-1 accuracy over severities (top panel) and the CE
    against the run's reference where it exists (bottom panel), as in the paper's Fig. 15b."""
    import numpy as np

    plt = _pyplot()
    names = [c for c in CORRUPTIONS if any(c in m["metrics"]["per_corruption"] for m in models.values())]
    labels = list(models)
    width = 0.8 / max(1, len(labels))
    fig, axes = plt.subplots(2, 1, figsize=(max(8.0, 0.55 * len(names) + 2), 6.4), sharex=True)
    x = np.arange(len(names))
    for k, label in enumerate(labels):
        per = models[label]["metrics"]["per_corruption"]
        acc = [100.0 - per[c]["top1_error"] if c in per and per[c]["top1_error"] is not None else np.nan
               for c in names]
        ce = [per[c]["ce"] if c in per and per[c]["ce"] is not None else np.nan for c in names]
        axes[0].bar(x + k * width - 0.4 + width / 2, acc, width, label=label)
        axes[1].bar(x + k * width - 0.4 + width / 2, ce, width, label=label)
    axes[0].set_ylabel("top-1 accuracy (%)\nmean over severities")
    axes[1].set_ylabel("CE (%)")
    axes[1].axhline(100, color="gray", lw=0.8, ls="--")
    axes[0].legend(fontsize=8, loc="lower left")
    axes[0].set_title(title, fontsize=9)
    axes[1].set_xticks(x, names, rotation=60, ha="right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def corruption_grid(samples: Sequence[tuple[str, Any]], path: str | Path, title: str) -> Path:
    """A row of example images (``(label, H x W x 3 uint8)``), to see what each corruption does."""
    plt = _pyplot()
    cols = min(10, len(samples))
    rows = math.ceil(len(samples) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.25 * cols, 1.6 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (label, image) in zip(axes.flat, samples):
        ax.imshow(image)
        ax.set_title(label, fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


__all__ = ["comparison_bars", "corruption_grid", "heatmap"]
