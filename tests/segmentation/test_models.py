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


def test_classifier_weights_load_into_the_dilated_encoder(tmp_path):
    import timm
    from safetensors.torch import save_file

    from muxnet.models.checkpoint import CheckpointError

    classifier = timm.create_model("muxnet_xs", num_classes=10)
    for p in classifier.parameters():
        torch.nn.init.normal_(p)
    path = tmp_path / "xs.safetensors"
    save_file({k: v.contiguous() for k, v in classifier.state_dict().items()}, path)
    model = create_segmenter("c1_muxnet_xs", 3, 8, backbone_weights=path)
    own = classifier.state_dict()
    loaded = model.encoder.model.state_dict()
    assert torch.equal(loaded["conv_stem.weight"], own["conv_stem.weight"])
    assert torch.equal(loaded["blocks_3.0.conv_pw.weight"], own["blocks.3.0.conv_pw.weight"])
    assert all(torch.equal(v, own[k.replace("blocks_", "blocks.", 1)]) for k, v in loaded.items())
    with pytest.raises(CheckpointError, match="does not fit"):
        create_segmenter("c1_muxnet_m", 3, 8, backbone_weights=path)
