"""Images as datasets: files on disk (with the bad-image handling every command shares) and arrays in memory.

An unreadable file raises :class:`BadImageError` naming it; with ``skip_bad_images`` the sample comes back as
``None``, :func:`collate_skipping_bad` drops it from its batch, and the file is listed once in the run's
``bad_images.txt``, however many epochs, workers or ranks meet it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset, default_collate

from .splits import BadImageError

BAD_IMAGES_FILE = "bad_images.txt"


def record_bad_image(log: Path | None, path: Path, reason: str) -> None:
    """Add ``path`` to the bad-image list ``log`` unless it is listed already.

    DataLoader workers and DDP ranks append to the same file, so the check and the append hold an exclusive
    lock (POSIX ``flock``) on it.
    """
    if log is None:
        return
    with open(log, "a+") as fh:
        try:
            import fcntl

            fcntl.flock(fh, fcntl.LOCK_EX)
        except ImportError:  # Windows: no lock; a file may then be listed twice
            pass
        fh.seek(0)
        listed = {line.split("\t", 1)[0] for line in fh.read().splitlines()}
        if str(path) not in listed:
            fh.write(f"{path}\t{reason}\n")


class ImageFiles(Dataset):
    """Images on disk with their targets (class indices, or float vectors for multi-label)."""

    def __init__(self, samples: Sequence[tuple[Path, Any]], transform: Callable | None = None,
                 skip_bad_images: bool = False, bad_images_log: Path | None = None):
        self.samples = list(samples)
        self.transform = transform
        self.skip_bad_images = skip_bad_images
        self.bad_images_log = bad_images_log

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        from PIL import Image

        path, target = self.samples[index]
        try:
            with Image.open(path) as img:
                img = img.convert("RGB")
        except Exception as err:  # PIL raises many kinds (UnidentifiedImageError, OSError, SyntaxError, ...)
            if not self.skip_bad_images:
                raise BadImageError(f"cannot read image {path}: {type(err).__name__}: {err} "
                                    "(pass --skip-bad-images to skip unreadable files)") from None
            record_bad_image(self.bad_images_log, path, f"{type(err).__name__}: {err}")
            return None
        if self.transform is not None:
            img = self.transform(img)
        return img, target


class ArrayImages(Dataset):
    """uint8 HWC images held in memory (CIFAR), served as PIL images through ``transform``."""

    def __init__(self, images: np.ndarray, labels: Sequence[int], transform: Callable | None = None):
        self.images, self.labels, self.transform = images, list(labels), transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        from PIL import Image

        img = Image.fromarray(self.images[index])
        if self.transform is not None:
            img = self.transform(img)
        return img, self.labels[index]


def collate_skipping_bad(batch: list):
    """Default collation without the samples that :class:`ImageFiles` could not read (``None``)."""
    kept = [item for item in batch if item is not None]
    return default_collate(kept) if kept else None


__all__ = ["ArrayImages", "BAD_IMAGES_FILE", "ImageFiles", "collate_skipping_bad", "record_bad_image"]
