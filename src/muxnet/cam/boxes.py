"""Ground-truth boxes and how well a class activation map finds them.

ChestX-Ray14's ``BBox_List_2017.csv`` holds 984 boxes for 8 findings, one per row: image name, finding,
then x, y, w, h in pixels of the 1024 x 1024 original. Its finding ``Infiltrate`` is ``Infiltration`` in the
image labels. Every measure scores an image-class pair against the union of that class's boxes in the image:

* pointing game (Zhang et al., ECCV 2016 / IJCV 2018, as TorchRay's ``PointingGame`` computes it): a hit when the
  map's maximum, placed on the original image's pixel grid, lies less than ``tolerance`` pixels (default 15) from
  a pixel of the boxes (inside them counts at any tolerance). Its chance level is the share of the image's pixels
  that would be hits, the boxes dilated by the same tolerance. Besides the rate over all pairs, the mean over
  classes of the per-class rates, the reference's summary number;
* IoU of the thresholded map (pixels >= ``threshold`` x its maximum) with the boxes, at the map's size; a *hit*
  is IoU >= 0.1, the lowest T(IoU) of ChestX-ray8's localisation table (Wang et al., CVPR 2017).
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HIT_IOU = 0.1
POINTING_TOLERANCE = 15  # pixels of the original image: TorchRay's PointingGame default
FINDING_ALIASES = {"Infiltrate": "Infiltration"}


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixels: left, top, width, height."""

    x: float
    y: float
    w: float
    h: float

    def scaled(self, sx: float, sy: float) -> Box:
        return Box(self.x * sx, self.y * sy, self.w * sx, self.h * sy)

    def mask(self, height: int, width: int) -> np.ndarray:
        """Pixels whose centres lie in the box."""
        ys, xs = np.arange(height)[:, None] + 0.5, np.arange(width)[None, :] + 0.5
        return (xs >= self.x) & (xs < self.x + self.w) & (ys >= self.y) & (ys < self.y + self.h)


@dataclass(frozen=True)
class BoxRecord:
    image: str
    finding: str
    box: Box


def read_bbox_list(path: str | Path) -> list[BoxRecord]:
    """The rows of ``BBox_List_2017.csv`` (header ``Image Index, Finding Label, Bbox [x,y,w,h], ...``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no box list at {path} (ChestX-Ray14's BBox_List_2017.csv)")
    records = []
    with open(path, newline="") as fh:
        rows = csv.reader(fh)
        header = next(rows, None)
        if not header or not header[0].strip().lower().startswith("image"):
            raise ValueError(f"{path}: expected the header 'Image Index,Finding Label,Bbox [x,y,w,h],...'")
        for line, row in enumerate(rows, start=2):
            if not row or not row[0].strip():
                continue
            try:
                x, y, w, h = (float(v) for v in row[2:6])
            except ValueError:
                raise ValueError(f"{path} line {line}: expected 4 numbers x, y, w, h after the finding, "
                                 f"got {row[2:6]}") from None
            if w <= 0 or h <= 0:
                raise ValueError(f"{path} line {line}: box width and height must be positive, got {w}, {h}")
            finding = row[1].strip()
            records.append(BoxRecord(row[0].strip(), FINDING_ALIASES.get(finding, finding), Box(x, y, w, h)))
    return records


def _pixel_span(start: float, length: float, size: int) -> tuple[int, int]:
    """First and last pixel index (within ``0..size-1``) whose centre lies in ``[start, start + length)``."""
    return max(0, math.ceil(start - 0.5)), min(size - 1, math.ceil(start + length - 0.5) - 1)


def _accepted(offsets_squared: np.ndarray | int, tolerance: int) -> np.ndarray | bool:
    """Inside the boxes (offset 0), or less than ``tolerance`` pixels from them (TorchRay's strict ``<``)."""
    return (offsets_squared == 0) | (offsets_squared < tolerance * tolerance)


def _box_offsets(box: Box, rows: np.ndarray, cols: np.ndarray, image_size: tuple[int, int]
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """Per row and per column, how many pixels it lies outside the box's pixels (``None``: no pixel in it)."""
    r0, r1 = _pixel_span(box.y, box.h, image_size[0])
    c0, c1 = _pixel_span(box.x, box.w, image_size[1])
    if r0 > r1 or c0 > c1:
        return None
    return np.maximum(np.maximum(r0 - rows, rows - r1), 0), np.maximum(np.maximum(c0 - cols, cols - c1), 0)


def peak(heat: np.ndarray, image_size: tuple[int, int] | None = None) -> tuple[int, int]:
    """The (row, column) of the map's (first) maximum on the original image's pixel grid (``image_size``: its
    height and width; default the map's own): the original pixel under the centre of the maximal map cell."""
    height, width = image_size or heat.shape
    r, c = np.unravel_index(int(np.argmax(heat)), heat.shape)
    return (min(height - 1, int((r + 0.5) * height / heat.shape[0])),
            min(width - 1, int((c + 0.5) * width / heat.shape[1])))


def pointing_hit(heat: np.ndarray, boxes: Box | Sequence[Box], image_size: tuple[int, int] | None = None,
                 tolerance: int = POINTING_TOLERANCE) -> bool:
    """The map's maximum (see :func:`peak`) lies in the union of ``boxes`` (given in pixels of the original image,
    ``image_size`` = its height and width, default the map's) or less than ``tolerance`` pixels from it."""
    boxes = [boxes] if isinstance(boxes, Box) else list(boxes)
    size = image_size or heat.shape
    row, col = peak(heat, size)
    for box in boxes:
        offsets = _box_offsets(box, np.array(row), np.array(col), size)
        if offsets is not None and _accepted(int(offsets[0]) ** 2 + int(offsets[1]) ** 2, tolerance):
            return True
    return False


def pointing_chance(boxes: Sequence[Box], image_size: tuple[int, int], tolerance: int = POINTING_TOLERANCE) -> float:
    """The pointing game's chance level for a uniformly random point: the share of the image's pixels that are
    hits under the same ``tolerance``, i.e. the area of the boxes' union dilated by it, over the image's."""
    rows, cols = np.arange(image_size[0]), np.arange(image_size[1])
    accepted = np.zeros(image_size, dtype=bool)
    for box in boxes:
        offsets = _box_offsets(box, rows, cols, image_size)
        if offsets is not None:
            accepted |= _accepted(offsets[0][:, None] ** 2 + offsets[1][None, :] ** 2, tolerance)
    return float(accepted.mean())


def union_mask(boxes: Sequence[Box], height: int, width: int) -> np.ndarray:
    """Pixels whose centres lie in any of ``boxes``."""
    mask = np.zeros((height, width), dtype=bool)
    for box in boxes:
        mask |= box.mask(height, width)
    return mask


def mask_iou(mask: np.ndarray, boxes: Box | Sequence[Box]) -> float:
    other = union_mask([boxes] if isinstance(boxes, Box) else boxes, *mask.shape)
    union = np.logical_or(mask, other).sum()
    return float(np.logical_and(mask, other).sum() / union) if union else 0.0


def threshold_map(heat: np.ndarray, threshold: float) -> np.ndarray:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    top = float(heat.max())
    return heat >= threshold * top if top > 0 else np.zeros_like(heat, dtype=bool)


def box_scores(heat: np.ndarray, boxes: Box | Sequence[Box], image_size: tuple[int, int] | None = None,
               threshold: float = 0.5, tolerance: int = POINTING_TOLERANCE) -> dict[str, float | bool]:
    """One image-class pair against the union of that class's ``boxes`` (pixels of the original image,
    ``image_size`` = its height and width, default the map's): pointing-game hit and its chance level (both at the
    original size, with ``tolerance``), IoU of the thresholded map with the boxes scaled to the map, and whether
    that IoU is a hit."""
    boxes = [boxes] if isinstance(boxes, Box) else list(boxes)
    size = tuple(image_size or heat.shape)
    scaled = [b.scaled(heat.shape[1] / size[1], heat.shape[0] / size[0]) for b in boxes]
    iou = mask_iou(threshold_map(heat, threshold), scaled)
    return {"pointing": pointing_hit(heat, boxes, size, tolerance), "iou": iou, "hit": iou >= HIT_IOU,
            "chance_pointing": pointing_chance(boxes, size, tolerance)}


def aggregate(scores: Iterable[tuple[str, dict[str, float | bool]]]) -> dict[str, dict[str, float]]:
    """Per group (finding or class) and ``all``: count of image-class pairs, pointing accuracy, its chance level,
    mean IoU and hit rate (percents). ``all`` adds the means over groups of the per-group pointing accuracy and
    chance (``pointing_class_mean``, ``chance_pointing_class_mean``): the pointing game's summary number, which
    weighs a rare class as much as a frequent one."""
    groups: dict[str, list[dict[str, float | bool]]] = defaultdict(list)
    for name, s in scores:
        groups[name].append(s)
    out = {}
    for name in sorted(groups):
        out[name] = _summary(groups[name])
    everything = [s for items in groups.values() for s in items]
    if everything:
        out["all"] = {**_summary(everything),
                      "pointing_class_mean": float(np.mean([out[n]["pointing"] for n in groups])),
                      "chance_pointing_class_mean": float(np.mean([out[n]["chance_pointing"] for n in groups]))}
    return out


def _summary(items: Sequence[dict[str, float | bool]]) -> dict[str, float]:
    return {"count": len(items),
            "pointing": 100.0 * float(np.mean([bool(s["pointing"]) for s in items])),
            "chance_pointing": 100.0 * float(np.mean([float(s["chance_pointing"]) for s in items])),
            "mean_iou": float(np.mean([float(s["iou"]) for s in items])),
            "hit_rate": 100.0 * float(np.mean([bool(s["hit"]) for s in items]))}


__all__ = ["Box", "BoxRecord", "HIT_IOU", "POINTING_TOLERANCE", "aggregate", "box_scores", "mask_iou", "peak",
           "pointing_chance", "pointing_hit", "read_bbox_list", "threshold_map", "union_mask"]
