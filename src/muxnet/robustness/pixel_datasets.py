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
from torch.utils.data import Dataset

from ..data.splits import evenly_spaced
from .corruptions import check_corruption, corrupt


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


def image_folder_pixels(root: str | Path, pretrained_cfg: dict[str, Any], max_images: int | None = None,
                        class_names: Sequence[str] | None = None) -> Dataset:
    """An evaluation set in pixel space, resized and centre-cropped to the model's input: ImageNet-V2's numbered
    folders (mapped by number), a class-folder tree's ``val`` (else ``test``) split, or flat class folders."""
    from torch.utils.data import Subset

    from ..data import ImageFiles, folder_layout
    from ..data.folders import class_samples
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
        samples = class_samples(folder, classes)
    if not samples:
        raise ValueError(f"no images found under {root}")
    files = ImageFiles(samples, geometric_transform(pretrained_cfg))
    return Subset(files, evenly_spaced(len(files), max_images))


__all__ = ["CorruptedImages", "PixelImages", "geometric_transform", "image_folder_pixels", "normalize_transform"]
