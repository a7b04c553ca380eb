"""Ground-truth boxes and how well a class activation map finds them.

ChestX-Ray14's ``BBox_List_2017.csv`` holds 984 boxes for 8 findings, one per row: image name, finding,
then x, y, w, h in pixels of the 1024 x 1024 original. Its finding ``Infiltrate`` is ``Infiltration`` in the
image labels. Two measures per map and box:

* pointing game: the map's maximum lies inside the box (Zhang et al., 2016);
* IoU of the thresholded map (pixels >= ``threshold`` x its maximum) with the box; a *hit* is IoU >= 0.1, the
  lowest T(IoU) of ChestX-ray8's localisation table (Wang et al., CVPR 2017).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HIT_IOU = 0.1
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


def pointing_hit(heat: np.ndarray, box: Box) -> bool:
    """The map's (first) maximum lies inside ``box``."""
    y, x = np.unravel_index(int(np.argmax(heat)), heat.shape)
    return bool(box.mask(*heat.shape)[y, x])


def mask_iou(mask: np.ndarray, box: Box) -> float:
    other = box.mask(*mask.shape)
    union = np.logical_or(mask, other).sum()
    return float(np.logical_and(mask, other).sum() / union) if union else 0.0


def threshold_map(heat: np.ndarray, threshold: float) -> np.ndarray:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    top = float(heat.max())
    return heat >= threshold * top if top > 0 else np.zeros_like(heat, dtype=bool)


def box_scores(heat: np.ndarray, box: Box, threshold: float = 0.5) -> dict[str, float | bool]:
    """Pointing-game hit, IoU of the thresholded map with the box, whether that IoU is a hit, and the box's share
    of the image (the pointing game's chance level)."""
    iou = mask_iou(threshold_map(heat, threshold), box)
    return {"pointing": pointing_hit(heat, box), "iou": iou, "hit": iou >= HIT_IOU,
            "box_fraction": float(box.mask(*heat.shape).mean())}


def aggregate(scores: Iterable[tuple[str, dict[str, float | bool]]]) -> dict[str, dict[str, float]]:
    """Per group (finding or class) and ``all``: count, pointing accuracy, its chance level (mean box share of
    the image), mean IoU and hit rate (percents)."""
    groups: dict[str, list[dict[str, float | bool]]] = defaultdict(list)
    for name, s in scores:
        groups[name].append(s)
        groups["all"].append(s)
    out = {}
    for name in sorted(groups, key=lambda n: (n == "all", n)):
        items = groups[name]
        out[name] = {"count": len(items),
                     "pointing": 100.0 * float(np.mean([bool(s["pointing"]) for s in items])),
                     "chance_pointing": 100.0 * float(np.mean([float(s.get("box_fraction", 0.0)) for s in items])),
                     "mean_iou": float(np.mean([float(s["iou"]) for s in items])),
                     "hit_rate": 100.0 * float(np.mean([bool(s["hit"]) for s in items]))}
    return out


__all__ = ["Box", "BoxRecord", "HIT_IOU", "aggregate", "box_scores", "mask_iou", "pointing_hit", "read_bbox_list",
           "threshold_map"]
