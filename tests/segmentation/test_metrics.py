import pytest
import torch

from muxnet.segmentation.metrics import ConfusionMatrix


def test_iou_and_pixel_accuracy_by_hand():
    cm = ConfusionMatrix(2, ignore_index=255)
    cm.update(torch.tensor([[0, 1], [1, 1]]), torch.tensor([[0, 0], [1, 255]]))
    out = cm.compute()
    # class 0: TP 1, FN 1 -> IoU 1/2; class 1: TP 1, FP 1 -> IoU 1/2; 2 of 3 labelled pixels right
    assert out["iou"] == {"0": pytest.approx(50.0), "1": pytest.approx(50.0)}
    assert out["miou"] == pytest.approx(50.0)
    assert out["pixel_accuracy"] == pytest.approx(200 / 3)
    assert out["pixels"] == 3


def test_accumulates_over_the_whole_set_not_per_batch():
    a_pred, a_true = torch.tensor([0, 0, 0, 0]), torch.tensor([0, 0, 0, 1])
    b_pred, b_true = torch.tensor([1]), torch.tensor([0])
    whole = ConfusionMatrix(2)
    whole.update(a_pred, a_true)
    whole.update(b_pred, b_true)
    joint = ConfusionMatrix(2)
    joint.update(torch.cat([a_pred, b_pred]), torch.cat([a_true, b_true]))
    assert whole.compute() == joint.compute()
    per_batch = []
    for p, t in ((a_pred, a_true), (b_pred, b_true)):
        cm = ConfusionMatrix(2)
        cm.update(p, t)
        per_batch.append(cm.compute()["miou"])
    assert whole.compute()["miou"] != pytest.approx(sum(per_batch) / 2)


def test_labels_outside_the_classes_are_an_error():
    with pytest.raises(ValueError, match="label 5"):
        ConfusionMatrix(3).update(torch.tensor([0]), torch.tensor([5]))
