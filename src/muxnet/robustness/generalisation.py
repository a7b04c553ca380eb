"""Generalisation to a new test set (paper appendix C.2, Fig. 15a): accuracy on ImageNet-V2 MatchedFrequency
beside the same model's accuracy on ImageNet val, and the drop between them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def accuracy_drop(new: dict[str, Any], original: dict[str, Any]) -> dict[str, float]:
    """Percentage points lost from ``original`` to ``new`` (positive: worse on the new set)."""
    return {f"{k}_drop": float(original[k]) - float(new[k]) for k in ("top1", "top5") if k in new and k in original}


def evaluate_with_reference(model: str | Path, checkpoint: str | Path | None, data: str | Path,
                            reference_data: str | Path, dataset: str | None = None, recipe: str | Path | None = None,
                            overrides: Sequence[str | tuple[str, Any]] = (), device: str | None = None
                            ) -> dict[str, Any]:
    """``muxnet eval --data NEW --reference-data ORIGINAL``: the metrics on both sets and the drop.

    The two evaluations share model, weights, recipe and transforms; only the images differ (ImageNet val is the
    test split of an ImageFolder root, ImageNet-V2 its own numeric-folder layout).
    """
    from ..train import evaluate_target

    new = evaluate_target(model, checkpoint, data, dataset, recipe, "test", overrides, device)
    original = evaluate_target(model, checkpoint, reference_data, None, recipe, "test", overrides, device)
    return {**new, "reference": original, **accuracy_drop(new, original)}


__all__ = ["accuracy_drop", "evaluate_with_reference"]
