"""Detection metrics: PASCAL VOC2007 mAP@0.5 (the paper's number) and COCO-style mAP (torchmetrics/pycocotools).

VOC2007's devkit, per class: detections of all test images sorted by score; each is a true positive when its
best-overlapping ground truth of that class (IoU >= 0.5) is not yet taken, a false positive otherwise, and
neither when that ground truth is "difficult" (difficult objects neither count as positives to recall nor
punish a detection of them). AP is the 11-point interpolated precision: the mean over recall thresholds
0, 0.1, ..., 1 of the best precision at recall >= the threshold. mAP averages the classes that have at least
one non-difficult object. Boxes are 0-based pixel corners (the VOC reader's), so plain areas equal the devkit's
``+1`` pixel areas on its 1-based inclusive coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def voc07_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """11-point interpolated average precision (VOC2007)."""
    points = []
    for t in np.linspace(0.0, 1.0, 11):
        above = precision[recall >= t]
        points.append(float(above.max()) if above.size else 0.0)
    return float(np.mean(points))


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix1, iy1 = np.maximum(box[0], boxes[:, 0]), np.maximum(box[1], boxes[:, 1])
    ix2, iy2 = np.minimum(box[2], boxes[:, 2]), np.minimum(box[3], boxes[:, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-12)


def voc07_map(detections: Sequence[dict[str, Any]], ground_truths: Sequence[dict[str, Any]],
              num_classes: int, iou_threshold: float = 0.5) -> dict[str, Any]:
    """``{"map": ..., "ap": [per class or None]}`` over images given as dicts of tensors or arrays:
    detections ``boxes`` (N x 4), ``scores``, ``labels`` (1..num_classes); ground truths ``boxes``, ``labels``
    and optionally ``difficult``."""
    if len(detections) != len(ground_truths):
        raise ValueError(f"{len(detections)} detection sets for {len(ground_truths)} images")

    def arr(x: Any) -> np.ndarray:
        return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)

    aps: list[float | None] = []
    for c in range(1, num_classes + 1):
        gts, npos, dets = {}, 0, []
        for i, (det, gt) in enumerate(zip(detections, ground_truths)):
            labels = arr(gt["labels"])
            keep = labels == c
            boxes = arr(gt["boxes"]).reshape(-1, 4)[keep]
            difficult = arr(gt.get("difficult", np.zeros(len(labels), bool))).astype(bool)[keep]
            gts[i] = (boxes, difficult, np.zeros(len(boxes), bool))
            npos += int((~difficult).sum())
            dl = arr(det["labels"]) == c
            for box, score in zip(arr(det["boxes"]).reshape(-1, 4)[dl], arr(det["scores"])[dl]):
                dets.append((float(score), i, box))
        if npos == 0:
            aps.append(None)
            continue
        dets.sort(key=lambda d: -d[0])
        tp, fp = np.zeros(len(dets)), np.zeros(len(dets))
        for k, (_, i, box) in enumerate(dets):
            boxes, difficult, taken = gts[i]
            if len(boxes) == 0:
                fp[k] = 1
                continue
            overlaps = _iou(box, boxes)
            j = int(overlaps.argmax())
            if overlaps[j] >= iou_threshold:
                if difficult[j]:
                    continue
                if not taken[j]:
                    tp[k], taken[j] = 1, True
                else:
                    fp[k] = 1
            else:
                fp[k] = 1
        tp, fp = np.cumsum(tp), np.cumsum(fp)
        recall = tp / npos
        precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
        aps.append(voc07_ap(recall, precision))
    scored = [a for a in aps if a is not None]
    return {"map": float(np.mean(scored)) if scored else float("nan"), "ap": aps}


class DetectionMetrics:
    """Accumulates a test set's detections; ``compute()`` gives VOC07 mAP@0.5 (``voc07_map``, in %), and
    COCO-style ``coco_map`` (mAP@[.5:.95]) and ``coco_map_50`` from torchmetrics' ``MeanAveragePrecision``
    (pycocotools backend; difficult objects are passed as COCO "crowd" regions, which COCO likewise ignores)."""

    def __init__(self, num_classes: int, class_names: Sequence[str] = ()):
        self.num_classes = num_classes
        self.class_names = list(class_names)
        self.detections: list[dict[str, torch.Tensor]] = []
        self.ground_truths: list[dict[str, torch.Tensor]] = []

    def update(self, detections: Sequence[dict[str, torch.Tensor]], targets: Sequence[dict[str, Any]]) -> None:
        for det, gt in zip(detections, targets):
            self.detections.append({k: det[k].detach().cpu() for k in ("boxes", "scores", "labels")})
            difficult = gt.get("difficult", torch.zeros(len(gt["labels"]), dtype=torch.bool))
            self.ground_truths.append({"boxes": torch.as_tensor(gt["boxes"]).detach().cpu().reshape(-1, 4),
                                       "labels": gt["labels"].cpu(), "difficult": difficult.cpu()})

    def compute(self) -> dict[str, Any]:
        voc = voc07_map(self.detections, self.ground_truths, self.num_classes)
        result: dict[str, Any] = {"voc07_map": 100 * voc["map"], "count": len(self.detections)}
        names = self.class_names or [str(c) for c in range(1, self.num_classes + 1)]
        result["voc07_ap"] = {n: (None if a is None else 100 * a) for n, a in zip(names, voc["ap"])}
        result.update(coco_map(self.detections, self.ground_truths))
        return result


def coco_map(detections: Sequence[dict[str, torch.Tensor]], ground_truths: Sequence[dict[str, torch.Tensor]]
             ) -> dict[str, float]:
    from torchmetrics.detection import MeanAveragePrecision

    # the detections given are the whole evaluation: never gathered from other processes (under torchrun the main
    # process evaluates alone, and a gather would wait for ranks that are not evaluating)
    metric = MeanAveragePrecision(iou_type="bbox", backend="pycocotools", sync_on_compute=False)
    metric.warn_on_many_detections = False  # COCO keeps the 100 best per image, as its protocol says
    targets = [{"boxes": g["boxes"], "labels": g["labels"], "iscrowd": g["difficult"].long()} for g in ground_truths]
    metric.update(list(detections), targets)
    out = metric.compute()
    return {"coco_map": 100 * float(out["map"]), "coco_map_50": 100 * float(out["map_50"])}


__all__ = ["DetectionMetrics", "coco_map", "voc07_ap", "voc07_map"]
