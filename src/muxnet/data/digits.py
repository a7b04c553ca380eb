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

from .splits import DataSplits, evenly_spaced

NUM_CLASSES = 10
NUM_IMAGES = 1797  # scikit-learn's digits, fixed: the scenes' halves are drawn from these
# which digit images may be used: all, or only the half the embedded scenes' training split is composed from
DIGIT_POOLS = ("all", "scenes_train")


def scene_digit_pool(split: str) -> np.ndarray:
    """Indices of the digit images the embedded scenes of ``split`` ("train" or "test") are composed from: two
    fixed, disjoint halves, so no test scene shows a digit image seen in training."""
    order = np.random.default_rng(12345).permutation(NUM_IMAGES)
    return order[: len(order) // 2] if split == "train" else order[len(order) // 2:]


def digits_pixels(image_size: int = 32, channels: int = 3, seed: int = 0, val_fraction: float = 0.15,
                  test_fraction: float = 0.15, pool: str = "all"
                  ) -> tuple[torch.Tensor, torch.Tensor, dict[str, np.ndarray]]:
    """The digits before standardisation: N x C x H x W pixels in [0, 1] at ``image_size``, the labels and the
    ``train``/``val``/``test`` indices. Corruptions act here, in pixel space (:mod:`muxnet.robustness`).

    ``pool="scenes_train"`` splits only the images the embedded scenes' training split uses (a backbone
    pre-trained for the scenes must not see the digits of their test split)."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    if image_size < 8:
        raise ValueError(f"image_size must be at least 8 (the native size), got {image_size}")
    if pool not in DIGIT_POOLS:
        raise ValueError(f"pool must be one of {DIGIT_POOLS}, got {pool!r}")
    if not 0 < val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError(f"val/test fractions must be in (0, 1) and sum below 1, got {val_fraction}, {test_fraction}")
    data = sklearn_digits()
    images = data.images.astype(np.float32) / 16.0
    labels = data.target.astype(np.int64)
    index = np.arange(len(labels)) if pool == "all" else np.sort(scene_digit_pool("train"))
    rest, test_idx = train_test_split(index, test_size=test_fraction, stratify=labels[index], random_state=seed)
    train_idx, val_idx = train_test_split(rest, test_size=val_fraction / (1 - test_fraction),
                                          stratify=labels[rest], random_state=seed)
    x = torch.from_numpy(images)[:, None]
    x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    x = x.expand(-1, channels, -1, -1).contiguous()
    return x, torch.from_numpy(labels), {"train": np.sort(train_idx), "val": np.sort(val_idx),
                                         "test": np.sort(test_idx)}


def digits_standardisation(pixels: torch.Tensor, train_idx: np.ndarray) -> tuple[float, float]:
    """The (mean, std) of the training split's pixels, which every split is standardised with."""
    train = pixels[torch.from_numpy(train_idx)]
    return float(train.mean()), float(train.std())


def digits_test_pixels(image_size: int = 32, seed: int = 0, max_images: int | None = None
                       ) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """The test split of ``seed``'s split as N x H x W x 3 uint8 images at ``image_size`` (bilinear upsampling of
    the 8x8 originals, as training sees them), their labels, and the (mean, std) that turn [0, 1] pixels into the
    model's inputs; ``max_images`` keeps that many, evenly spaced over the split.

    Pixels, not standardised tensors, because corruptions and activation-map overlays act on images."""
    x, y, splits = digits_pixels(image_size, 3, seed)
    mean, std = digits_standardisation(x, splits["train"])
    test = torch.from_numpy(splits["test"][evenly_spaced(len(splits["test"]), max_images)])
    pixels = x[test].mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()
    return pixels.numpy(), y[test].numpy(), (mean, std)


def load_digits(image_size: int = 32, channels: int = 3, seed: int = 0, val_fraction: float = 0.15,
                test_fraction: float = 0.15, pool: str = "all") -> DataSplits:
    """Train/val/test tensors of the digits data at ``image_size`` x ``image_size`` (``pool``: see
    :func:`digits_pixels`)."""
    x, y, splits = digits_pixels(image_size, channels, seed, val_fraction, test_fraction, pool)
    mean, std = digits_standardisation(x, splits["train"])
    x = (x - mean) / std

    def subset(idx: np.ndarray) -> TensorDataset:
        idx_t = torch.from_numpy(idx)
        return TensorDataset(x[idx_t], y[idx_t])

    return DataSplits(subset(splits["train"]), subset(splits["val"]), subset(splits["test"]), NUM_CLASSES, False,
                      [str(i) for i in range(NUM_CLASSES)], "digits")
