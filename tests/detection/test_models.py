import pytest
import torch

from muxnet.detection import create_detector, parse_detector_name, profile_detector


@pytest.mark.slow
def test_ssdlite_muxnet_m_counts_are_the_papers_within_ten_percent():
    counts = profile_detector(create_detector("ssdlite_muxnet_m", num_classes=20), 300)
    assert counts.params == pytest.approx(3.2e6, rel=0.10)
    assert counts.madds == pytest.approx(0.5e9, rel=0.10)
    assert (counts.params, counts.madds) == (3_226_496, 492_527_392)  # golden: BENCHMARKS.md counts table


@pytest.mark.slow
def test_ssd_muxnet_l_counts():
    counts = profile_detector(create_detector("ssd_muxnet_l", num_classes=20), 300)
    assert counts.params == pytest.approx(9.9e6, rel=0.01)
    # 11% under the paper's 1.4B; docs/detection.md says what was checked and what is left unexplained
    assert counts.madds == pytest.approx(1.4e9, rel=0.12)
    assert (counts.params, counts.madds) == (9_871_190, 1_239_872_976)  # golden: BENCHMARKS.md counts table


def test_extra_layer_widths_are_each_frameworks_reference():
    """SSD300 / MobileNet-SSD end in 512, 256, 256, 256 channels; SSDLite in 512, 256, 256, 128."""
    from muxnet.detection import SSDBackbone

    assert SSDBackbone("muxnet_xs", separable=False).out_channels[2:] == [512, 256, 256, 256]
    assert SSDBackbone("muxnet_xs", separable=True).out_channels[2:] == [512, 256, 256, 128]


def test_first_map_is_the_expansion_layer_as_in_torchvision_ssdlite():
    """torchvision's ssdlite320_mobilenet_v3_large reads its first map from the expansion layer of the block that
    downsamples to stride 32 (672 channels at 20x20); the same backbone through SSDBackbone must agree."""
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large

    from muxnet.detection import SSDBackbone

    reference = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21).eval()
    ours = SSDBackbone("mobilenetv3_large_100", separable=True).eval()
    x = torch.zeros(1, 3, 320, 320)
    with torch.no_grad():
        expected = next(iter(reference.backbone(x).values()))
        first = next(iter(ours(x).values()))
    assert first.shape == expected.shape == (1, 672, 20, 20)
    assert ours.taps[0] == "blocks.5.0.bn1" and ours.out_channels[0] == 672


def test_feature_maps_follow_the_ssdlite_layout():
    model = create_detector("ssdlite_muxnet_xs", num_classes=10, image_size=128).eval()
    maps = list(model.backbone(torch.zeros(1, 3, 128, 128)).values())
    assert [m.shape[-1] for m in maps] == [8, 4, 2, 1, 1, 1]  # stride 16, stride 32, then four halvings
    assert [m.shape[1] for m in maps] == model.backbone.out_channels == [256, 1280, 512, 256, 256, 128]
    assert model.backbone.taps[0] == "blocks.4.0.act1"  # stride 16: the expansion layer of the next block


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
