"""Segmentation metrics from one confusion matrix accumulated over the whole set.

Averaging per-batch IoUs would weight small batches and rare classes wrongly; ADE20K's benchmark sums
intersections and unions over all images first. IoU of class c = TP / (TP + FP + FN); mIoU averages the
classes that occur in the ground truth or the predictions; pixel accuracy = correct / labelled pixels. Pixels
labelled ``ignore_index`` count for neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


class ConfusionMatrix:
    def __init__(self, num_classes: int, ignore_index: int = 255, class_names: Sequence[str] = ()):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.class_names = list(class_names)
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)  # rows: truth, columns: prediction

    def update(self, prediction: torch.Tensor, target: torch.Tensor) -> None:
        """``prediction``, ``target``: class indices of the same shape (any batch layout)."""
        if prediction.shape != target.shape:
            raise ValueError(f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} differ in shape")
        keep = target != self.ignore_index
        t, p = target[keep].long().cpu(), prediction[keep].long().cpu()
        if t.numel() and (int(t.max()) >= self.num_classes or int(t.min()) < 0):
            raise ValueError(f"target holds label {int(t.max())}, outside 0..{self.num_classes - 1}")
        self.matrix += torch.bincount(t * self.num_classes + p, minlength=self.num_classes ** 2).reshape(
            self.num_classes, self.num_classes)

    def compute(self) -> dict[str, Any]:
        m = self.matrix.double()
        tp = m.diag()
        union = m.sum(0) + m.sum(1) - tp
        present = union > 0
        iou = torch.where(present, tp / union.clamp(min=1), torch.nan)
        names = self.class_names or [str(c) for c in range(self.num_classes)]
        return {"miou": 100 * float(iou[present].mean()) if present.any() else float("nan"),
                "pixel_accuracy": 100 * float(tp.sum() / m.sum().clamp(min=1)),
                "iou": {n: (None if v != v else 100 * float(v)) for n, v in zip(names, iou.tolist())},
                "pixels": int(m.sum())}


__all__ = ["ConfusionMatrix"]
