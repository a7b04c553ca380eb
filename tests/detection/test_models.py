import pytest
import torch

from muxnet.detection import create_detector, parse_detector_name, profile_detector


@pytest.mark.slow
def test_ssdlite_muxnet_m_counts_are_the_papers_within_ten_percent():
    counts = profile_detector(create_detector("ssdlite_muxnet_m", num_classes=20), 300)
    assert counts.params == pytest.approx(3.2e6, rel=0.10)
    assert counts.madds == pytest.approx(0.5e9, rel=0.10)


def test_feature_maps_follow_the_ssdlite_layout():
    model = create_detector("ssdlite_muxnet_xs", num_classes=10, image_size=128).eval()
    maps = list(model.backbone(torch.zeros(1, 3, 128, 128)).values())
    assert [m.shape[-1] for m in maps] == [8, 4, 2, 1, 1, 1]  # stride 16, stride 32, then four halvings
    assert [m.shape[1] for m in maps][2:] == [512, 256, 256, 128]
    assert maps[1].shape[1] == model.backbone.out_channels[1]


def test_trains_and_detects():
    model = create_detector("ssdlite_muxnet_xs", num_classes=3, image_size=96)
    target = {"boxes": torch.tensor([[10.0, 10, 40, 50]]), "labels": torch.tensor([2])}
    losses = model([torch.rand(3, 80, 100)] * 2, [target] * 2)
    assert set(losses) == {"bbox_regression", "classification"} and all(torch.isfinite(v) for v in losses.values())
    model.eval()
    out = model([torch.rand(3, 80, 100)])[0]
    assert out["boxes"].shape[1] == 4 and (out["labels"] >= 1).all() and (out["labels"] <= 3).all()
    assert (out["boxes"][:, 2] <= 100).all()  # boxes come back in the input image's coordinates


def test_names_are_checked():
    assert parse_detector_name("ssd_muxnet_l") == ("ssd", "muxnet_l")
    with pytest.raises(ValueError, match="ssdlite_<backbone>"):
        parse_detector_name("yolo_muxnet_m")
