"""Scenes composed from the embedded digits: the default detection and segmentation data (no download).

Each scene is a ``size`` x ``size`` canvas (noisy background of a random grey level) with one to
``max_digits`` of scikit-learn's 8x8 digits pasted at random, non-overlapping positions, each scaled to a random
side in ``digit_sizes`` and tinted a random bright colour. The same scenes are written in the two standard layouts
the readers expect, so the embedded default exercises exactly the code a real dataset goes through:

* VOC (:func:`write_voc_scenes`): ``VOCdevkit/VOC2007/{JPEGImages,Annotations,ImageSets/Main}``; one box per
  digit (the tight box of its strokes), class names ``zero`` ... ``nine`` listed in ``VOCdevkit/classes.txt``;
  ``trainval`` and ``test`` image sets.
* ADE20K (:func:`write_ade20k_scenes`): ``ADEChallengeData2016/{images,annotations}/{training,validation}``;
  per-pixel labels: 1 background, 2..11 the strokes of digits 0..9, and 0 (ignored, as in ADE20K) on the
  anti-aliased rim of each stroke where the class is ambiguous; names in ``ADEChallengeData2016/classes.txt``.

Training and test scenes draw their digits from disjoint halves of the 1,797 digit images, so the test score
measures generalisation to unseen handwriting. Everything is a function of ``seed``; a tree is written once
(into a temporary folder renamed into place) and reused by later runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np

from ..runtime import write_directory_once
from .digits import scene_digit_pool

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SEGMENTATION_NAMES = ("background", *DIGIT_NAMES)
STROKE = 0.5      # digit intensity above which a pixel is the digit's class
RIM = 0.15        # between RIM and STROKE: ignored (label 0) in the segmentation masks
DEFAULT_ROOT = Path(os.environ.get("MUXNET_DATA", Path.home() / ".cache" / "muxnet"))


@dataclass(frozen=True)
class Scene:
    image: np.ndarray                                  # H x W x 3 uint8
    boxes: list[tuple[int, int, int, int, int]]        # (xmin, ymin, xmax, ymax, digit), 1-based VOC pixels
    mask: np.ndarray                                   # H x W uint8 labels (0 ignore, 1 background, 2.. digits)


def _digit_images() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.images.astype(np.float32) / 16.0, data.target.astype(np.int64)


def _paste_positions(rng: np.random.Generator, sides: list[int], size: int) -> list[tuple[int, int, int]]:
    """``(x, y, side)`` for the squares of ``sides`` that fit without overlapping (50 tries each; the rest are
    left out)."""
    placed: list[tuple[int, int, int]] = []
    for side in sides:
        for _ in range(50):
            x, y = (int(v) for v in rng.integers(0, size - side + 1, size=2))
            if all(x + side <= px or px + ps <= x or y + side <= py or py + ps <= y for px, py, ps in placed):
                placed.append((x, y, side))
                break
    return placed


def _default_digit_sizes(size: int) -> tuple[int, int]:
    return round(0.22 * size), round(0.44 * size)


def compose_scenes(count: int, size: int = 128, max_digits: int = 3, digit_sizes: tuple[int, int] | None = None,
                   seed: int = 0, split: str = "train") -> list[Scene]:
    """``count`` scenes; ``split`` ("train" or "test") picks which half of the digit images is drawn from.
    Digit sides default to 22-44% of the canvas."""
    from PIL import Image

    digit_sizes = tuple(digit_sizes) if digit_sizes else _default_digit_sizes(size)
    if max_digits < 1:
        raise ValueError(f"max_digits must be at least 1, got {max_digits}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if not 8 <= digit_sizes[0] <= digit_sizes[1] <= size:
        raise ValueError(f"digit_sizes must satisfy 8 <= min <= max <= size ({size}), got {digit_sizes}")
    images, labels = _digit_images()
    pool = scene_digit_pool(split)
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    scenes = []
    for _ in range(count):
        level = rng.uniform(0.0, 0.45)
        canvas = np.clip(level + rng.normal(0, 0.04, (size, size, 3)), 0, 1)
        sides = [int(s) for s in rng.integers(digit_sizes[0], digit_sizes[1] + 1, size=rng.integers(1, max_digits + 1))]
        mask = np.ones((size, size), np.uint8)
        boxes = []
        for x, y, side in _paste_positions(rng, sides, size):
            index = int(rng.choice(pool))
            digit = np.asarray(Image.fromarray(images[index]).resize((side, side), Image.BILINEAR)).clip(0, 1)
            colour = rng.uniform(0.6, 1.0, 3)
            region = canvas[y:y + side, x:x + side]
            canvas[y:y + side, x:x + side] = region * (1 - digit[..., None]) + colour * digit[..., None]
            sub = mask[y:y + side, x:x + side]
            sub[digit > RIM] = 0
            sub[digit > STROKE] = labels[index] + 2
            ys, xs = np.nonzero(digit > RIM)
            boxes.append((x + int(xs.min()) + 1, y + int(ys.min()) + 1, x + int(xs.max()) + 1, y + int(ys.max()) + 1,
                          int(labels[index])))
        scenes.append(Scene((canvas * 255).round().astype(np.uint8), boxes, mask))
    return scenes


def _voc_xml(name: str, scene: Scene) -> str:
    root = ET.Element("annotation")
    ET.SubElement(root, "filename").text = f"{name}.jpg"
    size = ET.SubElement(root, "size")
    h, w = scene.mask.shape
    for tag, value in (("width", w), ("height", h), ("depth", 3)):
        ET.SubElement(size, tag).text = str(value)
    for xmin, ymin, xmax, ymax, digit in scene.boxes:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = DIGIT_NAMES[digit]
        ET.SubElement(obj, "difficult").text = "0"
        box = ET.SubElement(obj, "bndbox")
        for tag, value in (("xmin", xmin), ("ymin", ymin), ("xmax", xmax), ("ymax", ymax)):
            ET.SubElement(box, tag).text = str(value)
    return ET.tostring(root, encoding="unicode")


def _tag(train: int, test: int, size: int, seed: int, max_digits: int, digit_sizes: tuple[int, int] | None) -> str:
    lo, hi = digit_sizes or _default_digit_sizes(size)
    return f"n{train}-{test}_s{size}_d{max_digits}x{lo}-{hi}_seed{seed}"


def write_voc_scenes(root: str | Path | None = None, train: int = 1000, test: int = 300, size: int = 128,
                     seed: int = 0, max_digits: int = 3, digit_sizes: tuple[int, int] | None = None) -> Path:
    """The scenes in the VOC layout under ``root`` (default ``~/.cache/muxnet``); returns the folder that holds
    ``VOCdevkit``. ``max_digits`` and ``digit_sizes`` are :func:`compose_scenes`'."""
    from PIL import Image

    digit_sizes = tuple(digit_sizes) if digit_sizes else None
    target = Path(root or DEFAULT_ROOT) / f"scenes-voc-{_tag(train, test, size, seed, max_digits, digit_sizes)}"

    def write(folder: Path) -> None:
        voc = folder / "VOCdevkit" / "VOC2007"
        for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
            (voc / sub).mkdir(parents=True)
        (folder / "VOCdevkit" / "classes.txt").write_text("\n".join(DIGIT_NAMES) + "\n")
        for split, count, image_set in (("train", train, "trainval"), ("test", test, "test")):
            names = []
            for i, scene in enumerate(compose_scenes(count, size, max_digits, digit_sizes, seed, split)):
                name = f"{image_set}_{i:06d}"
                Image.fromarray(scene.image).save(voc / "JPEGImages" / f"{name}.jpg", quality=95)
                (voc / "Annotations" / f"{name}.xml").write_text(_voc_xml(name, scene))
                names.append(name)
            (voc / "ImageSets" / "Main" / f"{image_set}.txt").write_text("\n".join(names) + "\n")

    return write_directory_once(target, write, "scenes tree")


def write_ade20k_scenes(root: str | Path | None = None, train: int = 1000, test: int = 300, size: int = 128,
                        seed: int = 0, max_digits: int = 3, digit_sizes: tuple[int, int] | None = None) -> Path:
    """The scenes in the ADE20K scene-parsing layout; returns the ``ADEChallengeData2016`` folder."""
    from PIL import Image

    digit_sizes = tuple(digit_sizes) if digit_sizes else None
    target = Path(root or DEFAULT_ROOT) / f"scenes-ade20k-{_tag(train, test, size, seed, max_digits, digit_sizes)}"

    def write(folder: Path) -> None:
        ade = folder / "ADEChallengeData2016"
        (ade / "classes.txt").parent.mkdir(parents=True)
        (ade / "classes.txt").write_text("\n".join(SEGMENTATION_NAMES) + "\n")
        for split, count, sub, prefix in (("train", train, "training", "ADE_train"),
                                          ("test", test, "validation", "ADE_val")):
            (ade / "images" / sub).mkdir(parents=True)
            (ade / "annotations" / sub).mkdir(parents=True)
            for i, scene in enumerate(compose_scenes(count, size, max_digits, digit_sizes, seed, split)):
                name = f"{prefix}_{i + 1:08d}"
                Image.fromarray(scene.image).save(ade / "images" / sub / f"{name}.jpg", quality=95)
                Image.fromarray(scene.mask).save(ade / "annotations" / sub / f"{name}.png")

    return write_directory_once(target, write, "scenes tree") / "ADEChallengeData2016"


__all__ = ["DIGIT_NAMES", "SEGMENTATION_NAMES", "Scene", "compose_scenes", "write_ade20k_scenes",
           "write_voc_scenes"]
