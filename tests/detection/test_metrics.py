import numpy as np
import pytest
import torch

from muxnet.detection.metrics import DetectionMetrics, voc07_ap, voc07_map


def test_eleven_point_ap_by_hand():
    # precision 1 up to recall 0.5, then 0.5 up to recall 1: thresholds 0..0.5 give 1, 0.6..1 give 0.5
    recall = np.array([0.25, 0.5, 0.75, 1.0])
    precision = np.array([1.0, 1.0, 0.6, 0.5])
    assert voc07_ap(recall, precision) == pytest.approx((6 * 1.0 + 2 * 0.6 + 3 * 0.5) / 11)


def test_voc07_map_matches_a_hand_computed_case_with_difficult_and_duplicates():
    gts = [{"boxes": torch.tensor([[0.0, 0, 10, 10], [20, 20, 30, 30]]), "labels": torch.tensor([1, 1]),
            "difficult": torch.tensor([False, True])},
           {"boxes": torch.tensor([[5.0, 5, 15, 15]]), "labels": torch.tensor([1]), "difficult": torch.tensor([False])}]
    dets = [{"boxes": torch.tensor([[0.0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50], [0, 0, 10, 11]]),
             "scores": torch.tensor([0.9, 0.8, 0.7, 0.5]), "labels": torch.tensor([1, 1, 1, 1])},
            {"boxes": torch.tensor([[5.0, 5, 15, 15]]), "scores": torch.tensor([0.6]), "labels": torch.tensor([1])}]
    # ranked: TP (0.9), ignored: hits a difficult object (0.8), FP (0.7), TP (0.6), FP duplicate (0.5)
    # recall 0.5, 0.5, 1, 1; precision 1, 0.5, 2/3, 0.5 -> 6 thresholds at 1, 5 at 2/3
    result = voc07_map(dets, gts, num_classes=2)
    assert result["ap"][0] == pytest.approx((6 + 5 * 2 / 3) / 11)
    assert result["ap"][1] is None  # class 2 has no objects: left out of the mean
    assert result["map"] == pytest.approx(result["ap"][0])


def test_perfect_detections_score_100_in_voc_and_coco():
    gts = [{"boxes": torch.tensor([[0.0, 0, 10, 10], [20, 20, 40, 40]]), "labels": torch.tensor([1, 2]),
            "difficult": torch.tensor([False, False])}]
    dets = [{"boxes": gts[0]["boxes"].clone(), "scores": torch.tensor([0.9, 0.8]), "labels": torch.tensor([1, 2])}]
    metrics = DetectionMetrics(2, ["a", "b"])
    metrics.update(dets, gts)
    out = metrics.compute()
    assert out["voc07_map"] == pytest.approx(100.0)
    assert out["coco_map_50"] == pytest.approx(100.0)
    assert out["voc07_ap"] == {"a": pytest.approx(100.0), "b": pytest.approx(100.0)}


def test_missed_objects_lower_the_map():
    gts = [{"boxes": torch.tensor([[0.0, 0, 10, 10], [20, 20, 40, 40]]), "labels": torch.tensor([1, 1])}]
    dets = [{"boxes": torch.tensor([[0.0, 0, 10, 10]]), "scores": torch.tensor([0.9]), "labels": torch.tensor([1])}]
    assert voc07_map(dets, gts, 1)["map"] == pytest.approx(6 / 11)


def test_coco_map_ignores_a_difficult_object_as_voc_does():
    """One object A and one difficult object B of the same class, far apart. Ranked detections: a small box inside
    B (0.95; IoU 0.16 with B: a false positive, where COCO's crowd overlap, intersection over the detection's
    area, would call it a match and drop it), A itself (0.9, a true positive at every IoU threshold), B itself twice
    (0.8, 0.7; matched to the difficult object: ignored, neither true nor false positive). Precision is 1/2 at
    recall 1 and never higher at any recall, so AP = 1/2 in VOC's 11 points and COCO's 101, at every threshold."""
    a, b = [0.0, 0, 20, 20], [100.0, 100, 200, 200]
    gts = [{"boxes": torch.tensor([a, b]), "labels": torch.tensor([1, 1]), "difficult": torch.tensor([False, True])}]
    dets = [{"boxes": torch.tensor([[100.0, 100, 140, 140], a, b, b]), "scores": torch.tensor([0.95, 0.9, 0.8, 0.7]),
             "labels": torch.tensor([1, 1, 1, 1])}]
    metrics = DetectionMetrics(1, ["a"])
    metrics.update(dets, gts)
    out = metrics.compute()
    assert out["voc07_map"] == pytest.approx(50.0)
    assert out["coco_map_50"] == pytest.approx(50.0)
    assert out["coco_map"] == pytest.approx(50.0)


def test_coco_map_without_the_difficult_detections_is_perfect():
    """The same scene without the small false positive: the detections of the difficult object cost nothing."""
    a, b = [0.0, 0, 20, 20], [100.0, 100, 200, 200]
    gts = [{"boxes": torch.tensor([a, b]), "labels": torch.tensor([1, 1]), "difficult": torch.tensor([False, True])}]
    dets = [{"boxes": torch.tensor([b, a, b]), "scores": torch.tensor([0.95, 0.9, 0.7]),
             "labels": torch.tensor([1, 1, 1])}]
    metrics = DetectionMetrics(1, ["a"])
    metrics.update(dets, gts)
    out = metrics.compute()
    assert out["voc07_map"] == pytest.approx(100.0)
    assert out["coco_map"] == pytest.approx(100.0)
