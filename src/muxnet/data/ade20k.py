"""ADE20K scene parsing data: the ``ADEChallengeData2016`` layout.

``images/{training,validation}/<name>.jpg`` with ``annotations/{training,validation}/<name>.png`` masks whose
pixel values are class indices 1..150 and 0 for "other", which is ignored by the loss and the metric. A
``classes.txt`` in the root (one name per line) replaces the 150 classes by another label set (the embedded
digit scenes use it).

Every pair is checked when the dataset is built: a missing mask, a mask whose size differs from its image, or a
label above the class count stops the run with one error naming the file (or, with ``skip_bad_images``, the
pair is left out, counted and listed in ``bad_log``); a folder with no images is an error.

Samples come out with labels shifted to 0..C-1 and the ignored pixels at :data:`IGNORE_INDEX`, which is what
``cross_entropy(ignore_index=...)`` and the confusion-matrix metric take.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from .annotated import AnnotatedImages, BadAnnotationError, read_rgb

NUM_CLASSES = 150
IGNORE_INDEX = 255
SPLITS = {"train": "training", "val": "validation"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def ade20k_class_names(root: str | Path) -> tuple[str, ...]:
    listed = Path(root) / "classes.txt"
    if listed.is_file():
        names = tuple(line.strip() for line in listed.read_text().splitlines() if line.strip())
        if not names:
            raise BadAnnotationError(f"{listed}: lists no class names")
        return names
    return tuple(f"class {i}" for i in range(1, NUM_CLASSES + 1))


def _check_pair(image: Path, mask: Path, num_classes: int) -> tuple[Path, Path]:
    from PIL import Image

    if not mask.is_file():
        raise BadAnnotationError(f"{mask}: mask is missing for {image.name}")
    try:
        with Image.open(image) as im:
            image_size = im.size
        with Image.open(mask) as m:
            mask_size, labels = m.size, np.asarray(m)
    except Exception as err:
        raise BadAnnotationError(f"{image.parent.name}/{image.name} or its mask: cannot read "
                                 f"({type(err).__name__}: {err})") from None
    if mask_size != image_size:
        raise BadAnnotationError(f"{mask}: mask is {mask_size[0]}x{mask_size[1]} but its image is "
                                 f"{image_size[0]}x{image_size[1]}")
    if labels.ndim != 2:
        raise BadAnnotationError(f"{mask}: a mask must have one channel of class indices, got shape {labels.shape}")
    top = int(labels.max()) if labels.size else 0
    if top > num_classes:
        raise BadAnnotationError(f"{mask}: label {top} is above the {num_classes} classes")
    return image, mask


class ADE20KSegmentationData(AnnotatedImages):
    """``(image, mask)`` pairs of one split (``train`` or ``val``): a float image in [0, 1] and a long mask."""

    def __init__(self, root: str | Path, split: str = "train", transform: Callable | None = None,
                 skip_bad_images: bool = False, bad_log: Path | None = None):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
        self.root = Path(root)
        super().__init__(ade20k_class_names(self.root), transform, skip_bad_images, bad_log)
        folder = self.root / "images" / SPLITS[split]
        if not folder.is_dir():
            raise BadAnnotationError(f"{folder}: no such folder (expected the ADEChallengeData2016 layout)")
        images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise BadAnnotationError(f"{folder}: holds no images")
        for image in images:
            mask = self.root / "annotations" / SPLITS[split] / f"{image.stem}.png"
            pair = self.admit(lambda: _check_pair(image, mask, self.num_classes))  # noqa: B023
            if pair is not None:
                self.samples.append(pair)
        self.finish(str(folder))

    def __getitem__(self, index: int):
        from PIL import Image
        from torchvision import tv_tensors

        image_path, mask_path = self.samples[index]
        image = tv_tensors.Image(read_rgb(image_path))
        with Image.open(mask_path) as m:
            labels = torch.from_numpy(np.asarray(m, dtype=np.int64).copy())
        labels = torch.where(labels == 0, IGNORE_INDEX, labels - 1)
        mask = tv_tensors.Mask(labels)
        if self.transform is not None:
            image, mask = self.transform(image, mask)
        return image, mask


class EvaluationTransform:
    """The image resized to ``image_size`` x ``image_size`` (the network's input), the mask left at its
    annotation's size: the SceneParsing benchmark (CSAIL's ``eval.py``, mmsegmentation) scores every image at its
    original size, with the prediction upsampled to it, so a resized mask would score other pixels."""

    def __init__(self, image_size: int):
        self.image_size = image_size

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from torchvision.transforms.v2 import functional as TF

        image = TF.resize(image, [self.image_size, self.image_size], antialias=True)
        return TF.to_dtype(image, torch.float32, scale=True), mask


def segmentation_transform(image_size: int, train: bool, augment: Sequence[str] = ()):
    """Eval: :class:`EvaluationTransform` (the image resized to ``image_size``, the mask kept at its original
    size). Train resizes the pair to ``image_size`` (the mask nearest), or, as ``augment`` lists them, applies
    ``scale`` (random resize to 0.5-2x then a random ``image_size`` crop, padded with ignored pixels) and
    ``flip``."""
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    unknown = [a for a in augment if a not in ("scale", "flip")]
    if unknown:
        raise ValueError(f"data.augment: unknown step(s) {unknown}; choose from ['flip', 'scale']")
    if not train:
        return EvaluationTransform(image_size)
    if train and "scale" in augment:
        ops = [v2.RandomResize(image_size // 2, image_size * 2),
               v2.RandomCrop(image_size, pad_if_needed=True, fill={tv_tensors.Mask: IGNORE_INDEX, "others": 0})]
    else:
        ops = [v2.Resize((image_size, image_size), antialias=True)]
    if train and "flip" in augment:
        ops.append(v2.RandomHorizontalFlip())
    ops.append(v2.ToDtype({tv_tensors.Image: torch.float32, "others": None}, scale=True))
    return v2.Compose(ops)


__all__ = ["IGNORE_INDEX", "NUM_CLASSES", "ADE20KSegmentationData", "EvaluationTransform", "ade20k_class_names",
           "segmentation_transform"]
