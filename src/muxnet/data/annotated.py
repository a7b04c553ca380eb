"""What the detection and segmentation readers share: checked samples, the bad ones left out and counted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch.utils.data import Dataset

T = TypeVar("T")


class BadAnnotationError(ValueError):
    """An annotation or image of a dataset is unusable; the message names the file and what is wrong."""


def read_rgb(path: Path) -> torch.Tensor:
    """An image file as a 3 x H x W uint8 tensor."""
    from PIL import Image
    from torchvision.transforms.v2.functional import pil_to_tensor

    with Image.open(path) as im:
        return pil_to_tensor(im.convert("RGB"))


class AnnotatedImages(Dataset):
    """Images with annotations, every one checked when the dataset is built. A check that fails stops with its
    error (naming the file), or with ``skip_bad_images`` leaves the sample out: ``skipped`` holds the reasons,
    which are also appended to ``bad_log``."""

    def __init__(self, class_names: Sequence[str], transform: Callable | None, skip_bad_images: bool,
                 bad_log: Path | None):
        self.class_names = tuple(class_names)
        self.transform = transform
        self.skip_bad_images = skip_bad_images
        self.bad_log = bad_log
        self.samples: list[Any] = []
        self.skipped: list[str] = []

    def admit(self, check: Callable[[], T]) -> T | None:
        """``check()``'s sample, or ``None`` when it is bad and bad samples are skipped."""
        try:
            return check()
        except BadAnnotationError as err:
            if not self.skip_bad_images:
                raise
            self.skipped.append(str(err))
            return None

    def finish(self, where: str) -> None:
        if not self.samples:
            raise BadAnnotationError(f"{where}: no usable images ({len(self.skipped)} skipped)")
        if self.skipped and self.bad_log is not None:
            with open(self.bad_log, "a") as fh:
                fh.write("".join(line + "\n" for line in self.skipped))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.samples)


__all__ = ["AnnotatedImages", "BadAnnotationError", "read_rgb"]
