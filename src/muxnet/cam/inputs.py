"""The images a ``muxnet cam`` run draws maps on, one function per source, each giving the same record.

* :func:`image_files_input`: image files, each resized (whole, no crop) to the model's input;
* :func:`chestxray_input`: the ChestX-Ray14 images of ``BBox_List_2017.csv`` found under the root
  (:func:`scan_chestxray`, run before any work), one per image and boxed finding, with all that finding's boxes;
* :func:`digits_input`: the embedded default, digits test images at the model's input with the box around each
  digit's ink (:func:`digit_scenes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .boxes import Box, BoxRecord, read_bbox_list

if TYPE_CHECKING:
    from ..train.targets import Target

BBOX_LIST = "BBox_List_2017.csv"


@dataclass
class CamImages:
    """Images at the model's input (N x H x W x 3 uint8) with their names, the standardisation that makes them
    the model's inputs, the true class of each when known, the ground-truth boxes of that class in each (empty
    when there are none; in pixels of the original image), each original's (height, width) (default: the input
    size), the group each image's hits are reported under, and a one-line description for the summary."""

    pixels: np.ndarray
    names: list[str]
    mean: Sequence[float]
    std: Sequence[float]
    described: str
    truth: list[int] | None = None
    boxes: list[tuple[Box, ...]] | None = None
    groups: list[str] | None = None
    sizes: list[tuple[int, int]] | None = None

    def __post_init__(self) -> None:
        if self.boxes is None:
            self.boxes = [()] * len(self.pixels)
        if self.groups is None:
            self.groups = []
        if self.sizes is None:
            self.sizes = [tuple(self.pixels.shape[1:3])] * len(self.pixels)

    def input_boxes(self, index: int) -> list[Box]:
        """The boxes of image ``index`` scaled to the model's input, where the maps and pictures are."""
        height, width = self.sizes[index]
        return [b.scaled(self.pixels.shape[2] / width, self.pixels.shape[1] / height) for b in self.boxes[index]]


@dataclass
class BoxedImages:
    """The boxed ChestX-Ray14 images found under ``root``: the box list's records whose image is there (those of
    at most the run's ``max_images`` image-finding pairs), each image's path, and how many records the list
    holds."""

    root: Path
    records: list[BoxRecord]
    files: dict[str, Path]
    listed: int


def read_image(path: str | Path, size: tuple[int, int], bicubic: bool = True) -> tuple[np.ndarray, tuple[int, int]]:
    """``path`` as H x W x 3 uint8 at ``size`` (height, width), and its original (width, height)."""
    from PIL import Image

    path = Path(path)
    try:
        with Image.open(path) as img:
            rgb = img.convert("RGB")
    except Exception as err:  # PIL raises many kinds
        raise ValueError(f"cannot read image {path}: {type(err).__name__}: {err}") from err
    resample = Image.BICUBIC if bicubic else Image.BILINEAR
    return np.asarray(rgb.resize((size[1], size[0]), resample)), rgb.size


def check_images(paths: Sequence[str | Path]) -> None:
    """Every file of ``paths`` is an image PIL can decode (checked before the model is loaded or trained)."""
    for path in paths:
        read_image(path, (1, 1))


def scan_chestxray(root: str | Path, boxes: str | Path | None = None, max_images: int | None = None) -> BoxedImages:
    """The boxed images of ``boxes`` (default: ``root/BBox_List_2017.csv``) found under ``root``; refuses a box list
    with findings outside ChestX-Ray14's labels, and one whose images are all missing."""
    from ..data import CHESTXRAY_LABELS

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no ChestX-Ray14 directory at {root}")
    records = read_bbox_list(boxes or root / BBOX_LIST)
    unknown = sorted({r.finding for r in records} - set(CHESTXRAY_LABELS))
    if unknown:
        raise ValueError(f"box list has findings outside ChestX-Ray14's labels: {unknown}")
    found = {p.name: p for p in root.rglob("*.png")}
    pairs = set(list(dict.fromkeys((r.image, r.finding) for r in records if r.image in found))[:max_images])
    present = [r for r in records if (r.image, r.finding) in pairs]
    if not present:
        raise ValueError(f"none of the {len(records)} boxed images were found under {root}")
    return BoxedImages(root, present, {r.image: found[r.image] for r in present}, len(records))


def digit_scenes(image_size: int, count: int, seed: int = 0, canvas: int | None = None
                 ) -> tuple[np.ndarray, list[int], list[Box], tuple[float, float]]:
    """``count`` digits test images pasted at seeded random places on blank ``canvas`` x ``canvas`` scenes (by
    default the digit's own size: the images themselves): uint8 images, labels, the box around each digit's ink
    (pixels above a quarter of its maximum), and the (mean, std) of the model's inputs."""
    from ..data.digits import digits_test_pixels

    canvas = canvas or image_size
    if canvas < image_size:
        raise ValueError(f"the scene ({canvas}) must be at least the digit size ({image_size})")
    pixels, digit_labels, norm = digits_test_pixels(image_size, seed, count)
    rng = np.random.default_rng(seed)
    scenes = np.zeros((len(pixels), canvas, canvas, 3), dtype=np.uint8)
    boxes, labels = [], []
    for i, (digit, label) in enumerate(zip(pixels, digit_labels)):
        top, left = (int(v) for v in rng.integers(0, canvas - image_size + 1, size=2))
        scenes[i, top:top + image_size, left:left + image_size] = digit
        ink = digit[..., 0] >= 0.25 * max(1, int(digit.max()))
        ys, xs = np.nonzero(ink)
        boxes.append(Box(left + xs.min(), top + ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1))
        labels.append(int(label))
    return scenes, labels, boxes, norm


def _input_geometry(cfg: dict[str, Any]) -> tuple[tuple[int, int], bool]:
    """The model's (height, width) and whether it was trained on bicubic resizes."""
    height, width = (int(v) for v in cfg["input_size"][-2:])
    return (height, width), cfg.get("interpolation") == "bicubic"


def _normalisation(target: Target) -> tuple[Sequence[float], Sequence[float]]:
    """The input standardisation the model was trained with: the digits' own for a digits run, else its config's."""
    if target.trained_on_digits:
        from ..data.digits import digits_pixels, digits_standardisation

        x, _, splits = digits_pixels(int(target.recipe["data"]["image_size"]), 3,
                                     int(target.recipe["data"].get("seed") or 0))
        mean, std = digits_standardisation(x, splits["train"])
        return [mean] * 3, [std] * 3
    cfg = target.model.pretrained_cfg
    return cfg["mean"], cfg["std"]


def image_files_input(target: Target, paths: Sequence[str | Path], max_images: int | None = None) -> CamImages:
    """Image files at the model's input, standardised as the model was trained; no truth, no boxes."""
    size, bicubic = _input_geometry(target.model.pretrained_cfg)
    chosen = list(paths)[:max_images]
    pixels = np.stack([read_image(p, size, bicubic)[0] for p in chosen])
    mean, std = _normalisation(target)
    return CamImages(pixels, [Path(p).name for p in chosen], mean, std,
                     f"{len(pixels)} image file(s) at {size[0]}x{size[1]}")


def chestxray_input(target: Target, boxed: BoxedImages) -> CamImages:
    """The boxed ChestX-Ray14 images at the model's input, one per image and finding (the true class, in
    ChestX-Ray14's label order), with every box of that finding in the image: the pointing game scores a pair
    against their union, at the original size."""
    from ..data import CHESTXRAY_LABELS

    cfg = target.model.pretrained_cfg
    size, bicubic = _input_geometry(cfg)
    pairs: dict[tuple[str, str], list[Box]] = {}
    for r in boxed.records:
        pairs.setdefault((r.image, r.finding), []).append(r.box)
    arrays, sizes = [], []
    for image, _ in pairs:
        pixels, (w0, h0) = read_image(boxed.files[image], size, bicubic)
        arrays.append(pixels)
        sizes.append((h0, w0))
    return CamImages(np.stack(arrays), [image for image, _ in pairs], cfg["mean"], cfg["std"],
                     f"ChestX-Ray14 boxed images under {boxed.root}, resized to {size[0]}x{size[1]}",
                     truth=[CHESTXRAY_LABELS.index(finding) for _, finding in pairs],
                     boxes=[tuple(b) for b in pairs.values()], groups=[finding for _, finding in pairs], sizes=sizes)


def digits_input(target: Target, count: int, seed: int = 0) -> CamImages:
    """``count`` digits test images at the digits model's input, the true class and the box around each digit's
    ink; hits are reported per digit class."""
    if not target.trained_on_digits:
        raise ValueError(f"{target.name} is not a digits run: pass image files or --data (ChestX-Ray14)")
    digit_size = int(target.recipe["data"]["image_size"])
    pixels, truth, boxes, (m, s) = digit_scenes(digit_size, count, seed)
    return CamImages(pixels, [f"digit {i}" for i in range(len(pixels))], [m] * 3, [s] * 3,
                     f"{len(pixels)} digits test images at {digit_size}x{digit_size} (upsampled from 8x8), "
                     "boxes around their ink",
                     truth=truth, boxes=[(b,) for b in boxes], groups=[f"class {t}" for t in truth])


__all__ = ["BBOX_LIST", "BoxedImages", "CamImages", "check_images", "chestxray_input", "digit_scenes",
           "digits_input", "image_files_input", "read_image", "scan_chestxray"]
