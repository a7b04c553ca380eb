"""Datasets as tensors in memory, for the search's proxy training: a few epochs on a few thousand small images
run faster from tensors than through a DataLoader.

The images come through the same readers, transforms and bad-image handling as ``muxnet train`` (the
``none`` train transform, so every epoch sees the same tensors); only the subset size and image size are
the search's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset, TensorDataset

from .datasets import build_data, detect_dataset
from .splits import DataError, DataSplits

PROXY_VAL_FRACTION = 0.2


def as_tensors(dataset: Dataset, limit: int | None = None, seed: int = 0) -> TensorDataset:
    """``dataset`` (or a seeded random ``limit`` of its samples) as one TensorDataset; unreadable samples
    that the dataset skips (``None``) are left out."""
    indices = torch.arange(len(dataset))
    if limit is not None and limit < len(dataset):
        indices = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:limit]
    if isinstance(dataset, TensorDataset):
        return TensorDataset(*(t[indices] for t in dataset.tensors))
    items = [item for item in (dataset[int(i)] for i in indices) if item is not None]
    if not items:
        raise DataError("no readable images left to train on")
    images = torch.stack([image for image, _ in items])
    targets = [target for _, target in items]
    labels = torch.stack(targets) if torch.is_tensor(targets[0]) else torch.tensor(targets)
    return TensorDataset(images, labels)


def load_tensors(root: str | Path | None, image_size: int, seed: int = 0, max_train_samples: int | None = None,
                 data_config: dict[str, Any] | None = None, skip_bad_images: bool = False,
                 run_dir: Path | None = None, dataset: str | None = None,
                 difficulty: str | None = None) -> DataSplits:
    """Train and validation tensors of the data in ``root`` (any layout :func:`detect_dataset` names; ``None``:
    the embedded ``dataset``, by default the digits) at ``image_size``; at most ``max_train_samples`` training
    images; ``difficulty``: the cluttered digits' composition (the recipes' ``data.difficulty``).

    Layouts without a validation split hold out 20% of the training images (seeded).
    """
    if dataset is None:
        dataset = "digits" if root is None else detect_dataset(root)
    data_cfg = {"dataset": dataset, "root": root,
                "image_size": image_size, "train_transform": "none", "val_fraction": PROXY_VAL_FRACTION,
                "skip_bad_images": skip_bad_images, "seed": seed, "difficulty": difficulty}
    splits = build_data(data_cfg, data_config, run_dir)
    val = splits.val if splits.val is not None else splits.test
    return DataSplits(as_tensors(splits.train, max_train_samples, seed), as_tensors(val), None, splits.num_classes,
                      splits.multi_label, splits.class_names, splits.name)


__all__ = ["PROXY_VAL_FRACTION", "as_tensors", "load_tensors"]
