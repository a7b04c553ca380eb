"""Evaluation sets for the robustness benchmark: images in pixel space (uint8), corrupted, then normalised.

Corruptions act on pixels, so every set here yields H x W x 3 uint8 images (or PIL images) and the model's
normalisation comes last, after the corruption, as in ImageNet-C (resize 256, centre crop 224, corrupt, then
normalise).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

from .corruptions import MIN_SIZE, check_corruption, corrupt


class PixelImages(Dataset):
    """uint8 N x H x W x 3 images with integer labels."""

    def __init__(self, images: np.ndarray, labels: Sequence[int]):
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
            raise ValueError(f"PixelImages expects N x H x W x 3 uint8 images, got {images.dtype} {images.shape}")
        self.images, self.labels = images, [int(v) for v in labels]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.images[index], self.labels[index]


class CorruptedImages(Dataset):
    """``base`` under one corruption and severity (``name=None``: clean), then ``transform``.

    ``base`` yields ``(image, target)`` with the image a uint8 array or a PIL image (or ``None`` for an unreadable
    file, passed on so the loader can skip it). Image ``i`` is corrupted with seed ``(seed, i)``.
    """

    def __init__(self, base: Dataset, name: str | None = None, severity: int = 0, seed: int = 0,
                 transform: Callable | None = None):
        if name is not None:
            check_corruption(name, severity)
        self.base, self.name, self.severity, self.seed, self.transform = base, name, severity, seed, transform

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int):
        item = self.base[index]
        if item is None:
            return None
        image, target = item
        pixels = image if isinstance(image, np.ndarray) else np.array(image.convert("RGB"))
        if self.name is not None:
            pixels = corrupt(np.ascontiguousarray(pixels), self.name, self.severity, self.seed, index)
        return (self.transform(pixels) if self.transform is not None else pixels), target


def normalize_transform(mean: Sequence[float], std: Sequence[float]) -> Callable:
    """uint8 H x W x 3 -> normalised float C x H x W."""
    from torchvision import transforms as T

    return T.Compose([T.ToTensor(), T.Normalize(list(mean), list(std))])


def geometric_transform(pretrained_cfg: dict[str, Any]) -> Callable:
    """The model's eval resize and centre crop (no normalisation): PIL -> PIL at the model's input size."""
    from torchvision import transforms as T

    size = int(pretrained_cfg["input_size"][-1])
    crop_pct = float(pretrained_cfg.get("crop_pct", 0.875))
    interp = T.InterpolationMode.BICUBIC if pretrained_cfg.get("interpolation") == "bicubic" else \
        T.InterpolationMode.BILINEAR
    scaled = max(size, int(round(size / crop_pct)))
    return T.Compose([T.Resize(scaled, interpolation=interp), T.CenterCrop(size)])


def evenly_spaced(n: int, limit: int | None) -> list[int]:
    """At most ``limit`` indices spread over ``range(n)`` (all of them when ``limit`` is None or >= n)."""
    if limit is None or limit >= n:
        return list(range(n))
    if limit < 1:
        raise ValueError(f"max_images must be positive, got {limit}")
    return sorted({int(i) for i in np.linspace(0, n - 1, limit).round()})


def digits_test_pixels(image_size: int = 32, seed: int = 0, max_images: int | None = None
                       ) -> tuple[PixelImages, TensorDataset, tuple[float, float]]:
    """The digits test split as uint8 RGB images at ``image_size`` (bilinear upsampling of the 8x8 originals,
    as training sees them), the standardised train split (to fit a reference classifier), and the (mean, std)
    that turn [0, 1] pixels into the model's inputs."""
    from ..data import load_digits
    from ..data.digits import digits_pixels, digits_standardisation

    if image_size < MIN_SIZE:
        raise ValueError(f"corruptions need images of at least {MIN_SIZE} pixels; the digits model's image_size "
                         f"is {image_size}")
    x, y, splits = digits_pixels(image_size, 3, seed)
    mean, std = digits_standardisation(x, splits["train"])
    test = splits["test"][evenly_spaced(len(splits["test"]), max_images)]
    pixels = x[torch.from_numpy(test)].mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()
    train = load_digits(image_size, 3, seed).train
    return PixelImages(pixels.numpy(), y[torch.from_numpy(test)].tolist()), train, (mean, std)  # type: ignore[return-value]


def image_folder_pixels(root: str | Path, pretrained_cfg: dict[str, Any], max_images: int | None = None,
                        class_names: Sequence[str] | None = None) -> Dataset:
    """An evaluation set in pixel space, resized and centre-cropped to the model's input: ImageNet-V2's numbered
    folders (mapped by number), a class-folder tree's ``val`` (else ``test``) split, or flat class folders."""
    from torch.utils.data import Subset

    from ..data import ImageFiles, folder_layout
    from ..data.folders import _class_samples
    from ..data.imagenet_v2 import imagenet_v2_samples, is_imagenet_v2

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no image directory at {root}")
    if is_imagenet_v2(root):
        samples = imagenet_v2_samples(root)
    else:
        folder, classes_from = root, root
        if folder_layout(root) == "split":
            folder = root / "val" if (root / "val").is_dir() else root / "test"
            classes_from = root / "train"
        classes = list(class_names) if class_names else sorted(p.name for p in classes_from.iterdir() if p.is_dir())
        samples = _class_samples(folder, classes)
    if not samples:
        raise ValueError(f"no images found under {root}")
    files = ImageFiles(samples, geometric_transform(pretrained_cfg))
    return Subset(files, evenly_spaced(len(files), max_images))


__all__ = ["CorruptedImages", "PixelImages", "digits_test_pixels", "evenly_spaced", "geometric_transform",
           "image_folder_pixels", "normalize_transform"]
