"""The record every reader returns, the errors readers raise, and the seeded hold-out they share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset


class DataError(ValueError):
    """A dataset directory does not have the expected layout; the message names what is missing."""


class BadImageError(RuntimeError):
    """An image file cannot be decoded; the message names the file."""

    def __init__(self, message: str):
        # Raised in a DataLoader worker, the error is re-created in the main process from the worker's whole
        # traceback text (torch's ExceptionWrapper); keep only what the worker raised: one line naming the file.
        if "Traceback" in message:
            last = message.strip().splitlines()[-1]
            message = last.split(f"{type(self).__name__}: ", 1)[-1]
        super().__init__(message)


@dataclass
class DataSplits:
    """Train/val/test datasets and what the loss and metrics need to know about the labels.

    ``val`` picks the best checkpoint; ``test`` is reported (``None`` when the layout has no such split; the
    same object as ``val`` when the validation split doubles as the test split, as on ImageNet).
    """

    train: Dataset
    val: Dataset | None
    test: Dataset | None
    num_classes: int
    multi_label: bool = False
    class_names: list[str] = field(default_factory=list)
    name: str = ""


@dataclass(frozen=True)
class ReadOptions:
    """What a reader needs besides its directory: the transforms to serve images through, the hold-out used
    when the layout has no validation split, and the bad-image handling.

    Classification readers use ``train_transform``/``eval_transform``; readers whose targets move with the image
    (boxes, masks) build their own from ``image_size`` and ``data_config``.
    """

    image_size: int
    train_transform: Callable | None = None
    eval_transform: Callable | None = None
    data_config: dict[str, Any] | None = None
    val_fraction: float | None = None  # None: the layout's default
    seed: int = 0
    skip_bad_images: bool = False
    bad_images_log: Path | None = None


def holdout(n: int, fraction: float, seed: int, groups: Sequence[Any] | None = None) -> tuple[list[int], list[int]]:
    """Indices ``(kept, held_out)`` of ``n`` items, a ``fraction`` held out, fixed by ``seed``; whole ``groups``
    (e.g. patients) go to one side."""
    rng = np.random.default_rng(seed)
    if groups is None:
        order = rng.permutation(n)
        cut = int(round(n * fraction))
        return sorted(order[cut:].tolist()), sorted(order[:cut].tolist())
    unique = sorted(set(groups))
    chosen = set(rng.permutation(len(unique))[: int(round(len(unique) * fraction))].tolist())
    held = {unique[i] for i in chosen}
    keep = [i for i, g in enumerate(groups) if g not in held]
    out = [i for i, g in enumerate(groups) if g in held]
    return keep, out


def evenly_spaced(n: int, limit: int | None) -> list[int]:
    """At most ``limit`` indices spread over ``range(n)`` (all of them when ``limit`` is None or >= n): a subset
    of an evaluation set that still covers all of it (its classes are usually stored in order)."""
    if limit is None or limit >= n:
        return list(range(n))
    if limit < 1:
        raise ValueError(f"max_images must be positive, got {limit}")
    return sorted({int(i) for i in np.linspace(0, n - 1, limit).round()})


__all__ = ["BadImageError", "DataError", "DataSplits", "ReadOptions", "evenly_spaced", "holdout"]
