"""The embedded default data: scikit-learn's handwritten digits (1,797 real 8x8 images, 10 classes).

It ships inside scikit-learn, so the default search and training runs need no download. Images are scaled to
[0, 1], upsampled (bilinear) to ``image_size``, replicated to ``channels`` and standardised with the training
split's mean/std; the train/val/test split is stratified and fixed by ``seed``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import TensorDataset

from .splits import DataSplits

NUM_CLASSES = 10


def load_digits(image_size: int = 32, channels: int = 3, seed: int = 0, val_fraction: float = 0.15,
                test_fraction: float = 0.15) -> DataSplits:
    """Train/val/test tensors of the digits data at ``image_size`` x ``image_size``."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    if image_size < 8:
        raise ValueError(f"image_size must be at least 8 (the native size), got {image_size}")
    if not 0 < val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError(f"val/test fractions must be in (0, 1) and sum below 1, got {val_fraction}, {test_fraction}")
    data = sklearn_digits()
    images = data.images.astype(np.float32) / 16.0
    labels = data.target.astype(np.int64)
    index = np.arange(len(labels))
    rest, test_idx = train_test_split(index, test_size=test_fraction, stratify=labels, random_state=seed)
    train_idx, val_idx = train_test_split(rest, test_size=val_fraction / (1 - test_fraction),
                                          stratify=labels[rest], random_state=seed)
    x = torch.from_numpy(images)[:, None]
    x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    x = x.expand(-1, channels, -1, -1).contiguous()
    mean, std = x[train_idx].mean(), x[train_idx].std()
    x = (x - mean) / std
    y = torch.from_numpy(labels)

    def subset(idx: np.ndarray) -> TensorDataset:
        idx_t = torch.from_numpy(np.sort(idx))
        return TensorDataset(x[idx_t], y[idx_t])

    return DataSplits(subset(train_idx), subset(val_idx), subset(test_idx), NUM_CLASSES, False,
                      [str(i) for i in range(NUM_CLASSES)], "digits")
