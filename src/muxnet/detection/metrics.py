"""Detection metrics: PASCAL VOC2007 mAP@0.5 (the paper's number) and COCO-style mAP (pycocotools' COCOeval).

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
    COCO-style ``coco_map`` (mAP@[.5:.95]) and ``coco_map_50`` from pycocotools' ``COCOeval``, difficult objects
    ignored as VOC ignores them (see :func:`coco_map`)."""

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
    """COCO's mAP@[.5:.95] and mAP@.5 (pycocotools' ``COCOeval``, 100 detections per image, all areas), in %.

    A difficult object is ignored the way VOC ignores it: a detection matched to it (plain IoU) is neither a true
    nor a false positive, however many detections it draws, and it is no positive to recall. COCO's own ``iscrowd``
    would do that with a different overlap (intersection over the detection's area), so a small detection inside a
    difficult box would vanish instead of counting as a false positive; here ``iscrowd`` only carries the ignore
    flag and the overlap stays IoU. ``nan`` when the set holds no object that is not difficult."""
    import contextlib
    import io

    from pycocotools.coco import COCO

    def xywh(boxes: torch.Tensor) -> list[list[float]]:
        b = torch.as_tensor(boxes, dtype=torch.float64).reshape(-1, 4)
        return torch.cat([b[:, :2], b[:, 2:] - b[:, :2]], dim=1).tolist()

    annotations, results = [], []
    for image, (det, gt) in enumerate(zip(detections, ground_truths)):
        difficult = gt.get("difficult", torch.zeros(len(gt["labels"]), dtype=torch.bool))
        for box, label, hard in zip(xywh(gt["boxes"]), gt["labels"].tolist(), difficult.tolist()):
            annotations.append({"id": len(annotations) + 1, "image_id": image, "category_id": int(label),
                                "bbox": box, "area": box[2] * box[3], "iscrowd": int(hard)})
        for box, label, score in zip(xywh(det["boxes"]), det["labels"].tolist(), det["scores"].tolist()):
            results.append({"image_id": image, "category_id": int(label), "bbox": box, "score": float(score)})
    if not any(a["iscrowd"] == 0 for a in annotations):
        return {"coco_map": float("nan"), "coco_map_50": float("nan")}
    if not results:
        return {"coco_map": 0.0, "coco_map_50": 0.0}
    labels = sorted({a["category_id"] for a in annotations} | {r["category_id"] for r in results})
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools reports each step on stdout
        truth = COCO()
        truth.dataset = {"images": [{"id": i} for i in range(len(ground_truths))], "annotations": annotations,
                         "categories": [{"id": c} for c in labels]}
        truth.createIndex()
        evaluation = _ignore_difficult_class()(truth, truth.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    stats = evaluation.stats
    return {"coco_map": 100 * max(0.0, float(stats[0])), "coco_map_50": 100 * max(0.0, float(stats[1]))}


def _ignore_difficult_class():
    from pycocotools import mask
    from pycocotools.cocoeval import COCOeval

    class IgnoreDifficult(COCOeval):
        """``COCOeval`` whose overlap is plain IoU for every ground truth, the ignored (difficult) ones included."""

        def computeIoU(self, image, category):  # noqa: N802  (pycocotools' name)
            truth, found = self._gts[image, category], self._dts[image, category]
            if not truth or not found:
                return []
            order = np.argsort([-d["score"] for d in found], kind="mergesort")[: self.params.maxDets[-1]]
            return mask.iou([found[i]["bbox"] for i in order], [g["bbox"] for g in truth], [0] * len(truth))

    return IgnoreDifficult


__all__ = ["DetectionMetrics", "coco_map", "voc07_ap", "voc07_map"]
