"""Segmentation is scored as the SceneParsing benchmark scores it: at each annotation's original size."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from muxnet.data.ade20k import ADE20KSegmentationData, segmentation_transform
from muxnet.segmentation.task import SegmentationTask

# file labels: 0 ignored, 1 -> class 0, 2 -> class 1
WIDE = [[1, 1, 1, 2, 2, 2],
        [1, 1, 1, 2, 2, 2],
        [1, 1, 2, 2, 2, 2],
        [0, 0, 1, 1, 2, 2]]
TALL = [[1, 2, 2],
        [1, 2, 2],
        [1, 1, 2],
        [2, 2, 2],
        [0, 0, 0]]


class LeftIsClassZero(nn.Module):
    """Class-0 score 3.4 - x on input column x, class-1 score 0: a ramp, which bilinear upsampling reproduces
    exactly, so an output column is class 0 exactly when it samples the input left of x = 3.4."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        ramp = (3.4 - torch.arange(w, dtype=torch.float32)).expand(n, h, w)
        return torch.stack([ramp, torch.zeros_like(ramp)], dim=1)


@pytest.fixture
def annotations(tmp_path):
    for split in ("training", "validation"):
        for folder in ("images", "annotations"):
            (tmp_path / folder / split).mkdir(parents=True)
    (tmp_path / "classes.txt").write_text("left\nright\n")
    for name, labels in (("wide", WIDE), ("tall", TALL)):
        labels = np.array(labels, dtype=np.uint8)
        Image.fromarray(np.full((*labels.shape, 3), 128, np.uint8)).save(tmp_path / "images/validation" / f"{name}.png")
        Image.fromarray(labels).save(tmp_path / "annotations/validation" / f"{name}.png")
    return tmp_path


def test_masks_that_are_not_square_are_scored_at_their_own_size(annotations):
    """The 8x8 prediction upsampled to 4x6 is class 0 in columns 0-2 (they sample x = 0.17, 1.5, 2.83), and to
    5x3 in column 0 only (x = 0.83, 3.5, 6.17). Against the masks: wide [[9, 1], [1, 11]] (rows truth, columns
    prediction), tall [[3, 1], [1, 7]], summed [[12, 2], [2, 18]]: IoU 12/16 and 18/22, pixel accuracy 30/34, over
    34 labelled pixels. A mask resized to the 8x8 input would count 64 pixels less its ignored ones."""
    data = ADE20KSegmentationData(annotations, "val", segmentation_transform(8, train=False))
    image, mask = data[[p.stem for p, _ in data.samples].index("wide")]
    assert image.shape == (3, 8, 8) and mask.shape == (4, 6)
    recipe = {"data": {"eval_batch_size": 2, "batch_size": 2, "workers": 0}}
    out = SegmentationTask().evaluate(LeftIsClassZero(), data, recipe, torch.device("cpu"))
    assert out["pixels"] == 34 and out["count"] == 2
    assert out["iou"] == {"left": pytest.approx(100 * 12 / 16), "right": pytest.approx(100 * 18 / 22)}
    assert out["miou"] == pytest.approx(100 * (12 / 16 + 18 / 22) / 2)
    assert out["pixel_accuracy"] == pytest.approx(100 * 30 / 34)
