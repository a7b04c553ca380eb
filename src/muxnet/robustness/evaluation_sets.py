"""Where the corrupted images of a robustness run come from: one function per source, each giving the same record.

* :func:`digits_sets`: the embedded default, the digits test split upsampled to the model's input and corrupted on
  the fly, with a linear classifier fitted to the training split as the normalising reference (AlexNet's
  ImageNet errors mean nothing on digits);
* :func:`imagenet_c_sets`: the released ImageNet-C tree, as found (what is missing is listed, not invented);
* :func:`image_folder_sets`: any evaluation folder (class folders or ImageNet-V2), corrupted on the fly.

Each source checks what only it can check (a digits run for the digits, the class count of the tree) and
returns :class:`EvaluationSets`; the run itself (:mod:`muxnet.robustness.corruption_benchmark`) does not care
which source it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ..data.imagenet_c import ImageNetCTree
from .corruptions import MIN_SIZE
from .pixel_datasets import CorruptedImages, PixelImages, image_folder_pixels, normalize_transform

if TYPE_CHECKING:
    from ..train.targets import Target

EMBEDDED_IMAGES = 100  # of the 270 digits test images: 95 corrupted sets stay within a few CPU minutes
LINEAR_REFERENCE = "linear reference"


@dataclass
class EvaluationSets:
    """The images one run evaluates: ``sets`` by (corruption, severity), the ``clean`` set when there is one,
    ``extra_models`` evaluated beside the target (the digits' linear reference), the (corruption, severity)
    pairs asked for but ``missing`` from a released tree, and a one-line description for the summary."""

    described: str
    sets: dict[tuple[str, int], Dataset]
    clean: Dataset | None = None
    extra_models: dict[str, nn.Module] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def reference_model(self) -> str | None:
        """The model measured in this run that normalises CE when no reference file is given."""
        return LINEAR_REFERENCE if LINEAR_REFERENCE in self.extra_models else None


class LinearReference(nn.Module):
    """Logistic regression on the image averaged over channels and pooled to ``grid`` x ``grid`` (8x8: the
    digits' native resolution), so it sees the same inputs as the network."""

    def __init__(self, grid: int, num_classes: int):
        super().__init__()
        self.grid = grid
        self.linear = nn.Linear(grid * grid, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = nn.functional.adaptive_avg_pool2d(x.mean(dim=1, keepdim=True), self.grid)
        return self.linear(pooled.flatten(1))


def fit_linear_reference(train: Dataset, seed: int = 0, grid: int = 8) -> nn.Module:
    """A multinomial logistic regression fitted to the training split: the embedded run's stand-in for
    AlexNet (a weak, fixed baseline trained on the same data)."""
    from sklearn.linear_model import LogisticRegression

    x, y = train.tensors  # type: ignore[attr-defined]
    reference = LinearReference(grid, int(y.max()) + 1)
    with torch.no_grad():
        features = nn.functional.adaptive_avg_pool2d(x.mean(dim=1, keepdim=True), grid).flatten(1).numpy()
    clf = LogisticRegression(max_iter=1000, random_state=seed).fit(features, y.numpy())
    with torch.no_grad():
        reference.linear.weight.copy_(torch.from_numpy(clf.coef_).float())
        reference.linear.bias.copy_(torch.from_numpy(clf.intercept_).float())
    return reference.eval()


def _on_the_fly(base: Dataset, corruptions: Sequence[str], severities: Sequence[int], seed: int,
                norm: Callable) -> dict[tuple[str, int], Dataset]:
    return {(c, s): CorruptedImages(base, c, s, seed, norm) for c in corruptions for s in severities}


def digits_sets(target: Target, corruptions: Sequence[str], severities: Sequence[int], seed: int = 0,
                max_images: int | None = None, log: Callable[[str], None] = print) -> EvaluationSets:
    """The digits test split (``max_images`` of it, :data:`EMBEDDED_IMAGES` by default) under each corruption,
    for a model trained on the digits, with the linear reference fitted to the same training split."""
    from ..data import load_digits
    from ..data.digits import digits_test_pixels

    if not target.trained_on_digits:
        raise ValueError(f"{target.name} is not a digits run: pass --data or --imagenet-c")
    size = int(target.recipe["data"]["image_size"])
    if size < MIN_SIZE:
        raise ValueError(f"corruptions need images of at least {MIN_SIZE} pixels; the digits model's image_size "
                         f"is {size}")
    split_seed = int(target.recipe["data"].get("seed") or 0)
    pixels, labels, (mean, std) = digits_test_pixels(size, split_seed,
                                                     EMBEDDED_IMAGES if max_images is None else max_images)
    base = PixelImages(pixels, labels.tolist())
    norm = normalize_transform([mean] * 3, [std] * 3)
    train = load_digits(size, 3, split_seed).train
    log(f"fitting the linear reference classifier on {len(train)} training images")  # type: ignore[arg-type]
    return EvaluationSets(
        described=(f"digits test split, {len(base)} images (of 270), upsampled bilinearly from 8x8 to "
                   f"{size}x{size} before corrupting; corruptions generated on the fly (seed {seed})"),
        sets=_on_the_fly(base, corruptions, severities, seed, norm),
        clean=CorruptedImages(base, None, transform=norm),
        extra_models={LINEAR_REFERENCE: fit_linear_reference(train, seed)})


def imagenet_c_sets(target: Target, tree: ImageNetCTree, data: str | Path | None = None, max_images: int | None = None,
                    log: Callable[[str], None] = print) -> EvaluationSets:
    """The released ImageNet-C ``tree`` (:func:`muxnet.data.imagenet_c.scan_imagenet_c`, scanned before any work),
    with the clean images of ``data`` when given; class indices follow ``data``'s sorted class folders (ImageNet
    val), else the tree's, and must number the model's classes."""
    from torch.utils.data import Subset

    from ..data import ImageFiles
    from ..data.folders import class_samples
    from ..data.splits import evenly_spaced

    cfg = target.model.pretrained_cfg
    missing = [f"{c}/{s}" for c, s in tree.missing]
    if missing:
        log(f"ImageNet-C at {tree.root} lacks {len(missing)} corruption/severity folders: {tree.missing_text()}"
            " (evaluating what exists)")
    classes = sorted(p.name for p in Path(data).iterdir() if p.is_dir()) if data is not None else tree.classes
    num_classes = target.model.get_classifier().out_features
    if len(classes) != num_classes:
        raise ValueError(f"ImageNet-C at {tree.root} has {len(classes)} class folders but {target.name} has "
                         f"{num_classes} classes: pass --data with the clean set whose folders list all classes")
    norm = normalize_transform(cfg["mean"], cfg["std"])
    crop = _center_crop(cfg)
    sets: dict[tuple[str, int], Dataset] = {}
    for key, folder in tree.found.items():
        files = ImageFiles(class_samples(folder, classes), lambda img, crop=crop: norm(np.array(crop(img))))
        sets[key] = Subset(files, evenly_spaced(len(files), max_images))
    clean = None
    if data is not None:
        clean = CorruptedImages(image_folder_pixels(data, cfg, max_images, classes), None, transform=norm)
    return EvaluationSets(
        described=f"released ImageNet-C at {tree.root}" + (f", clean images from {data}" if data else ""),
        sets=sets, clean=clean, missing=missing)


def image_folder_sets(target: Target, data: str | Path, corruptions: Sequence[str], severities: Sequence[int],
                      seed: int = 0, max_images: int | None = None) -> EvaluationSets:
    """The evaluation folder ``data`` resized and centre-cropped to the model's input, then corrupted on the fly."""
    cfg = target.model.pretrained_cfg
    norm = normalize_transform(cfg["mean"], cfg["std"])
    base = image_folder_pixels(data, cfg, max_images)
    count = len(base)  # type: ignore[arg-type]
    return EvaluationSets(
        described=f"{data}, {count} images, corruptions generated on the fly (seed {seed})",
        sets=_on_the_fly(base, corruptions, severities, seed, norm),
        clean=CorruptedImages(base, None, transform=norm))


def _center_crop(cfg: Mapping[str, Any]):
    from torchvision import transforms as T

    return T.CenterCrop(int(cfg["input_size"][-1]))


__all__ = ["EMBEDDED_IMAGES", "EvaluationSets", "LINEAR_REFERENCE", "LinearReference", "digits_sets",
           "fit_linear_reference", "image_folder_sets", "imagenet_c_sets"]
