import pytest
import torch

from muxnet.segmentation import create_segmenter
from muxnet.segmentation.models import parse_segmenter_name


@pytest.mark.slow
@pytest.mark.parametrize("name", ["c1_muxnet_xs", "ppm_muxnet_xs"])
@pytest.mark.parametrize("output_stride", [32, 8])
def test_logits_at_input_size_and_dilated_features_at_stride_8(name, output_stride):
    model = create_segmenter(name, num_classes=5, output_stride=output_stride).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert model(x).shape == (1, 5, 64, 64)
        assert model.encoder(x)[-1].shape[-1] == 64 // output_stride


def test_dilation_keeps_the_weights():
    plain, dilated = create_segmenter("c1_muxnet_xs", 3, 32), create_segmenter("c1_muxnet_xs", 3, 8)
    assert [p.shape for p in plain.parameters()] == [p.shape for p in dilated.parameters()]


def test_names_are_checked():
    assert parse_segmenter_name("ppm_mobilenetv2_100") == ("ppm", "mobilenetv2_100")
    with pytest.raises(ValueError, match="c1_<backbone>"):
        parse_segmenter_name("fcn_muxnet_m")
