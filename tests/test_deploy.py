"""muxnet.deploy: every rewrite computes exactly what the model computes (float64 to 1e-10, float32 closely)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import muxnet
from muxnet.deploy import (
    GroupedAsDepthwise,
    InterleavedMuxConvBlock,
    MultiplexedParts,
    UnshuffledMuxConvBlock,
    deploy,
    fold_batchnorm,
    fold_channel_shuffle,
    grouped_conv_as_depthwise,
    interleave_channel_multiplexing,
    pad_depthwise_channels,
    rewrite_spatial_multiplexing,
    superpixel_as_conv,
)
from muxnet.deploy.channel import shuffle_permutation
from muxnet.deploy.padding import pad_depthwise_block, paddable
from muxnet.layers import SpatialMultiplexConv
from muxnet.layers.mixconv import MixConv
from muxnet.layers.spatial_multiplexing import subpixel, superpixel
from muxnet.models.blocks import MuxConvBlock


def randomise_batchnorm(model: nn.Module) -> nn.Module:
    """Running statistics and affine parameters far from the identity, so that a wrong fold shows."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0.0, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.normal_(1.0, 0.3)
            m.bias.data.normal_(0.0, 0.3)
    return model


def max_error(a: nn.Module, b: nn.Module, x: torch.Tensor) -> float:
    with torch.no_grad():
        return (a(x) - b(x)).abs().max().item()


# small sizes the whole zoo can take (every spatial multiplexing stage stays even), to keep the test fast
SIZES = (32, 64)


@pytest.mark.slow
@pytest.mark.parametrize("name", muxnet.list_models())
def test_deploy_is_exact_on_every_zoo_model(name):
    model = randomise_batchnorm(muxnet.create_model(name, num_classes=5)).double().eval()
    deployed = deploy(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in deployed.modules())
    assert not any(isinstance(m, SpatialMultiplexConv) for m in deployed.modules())
    for size in SIZES:
        x = torch.randn(1, 3, size, size, dtype=torch.float64)
        assert max_error(model, deployed, x) < 1e-10
    model32, deployed32 = model.float(), deploy(model.float())
    x = torch.randn(1, 3, SIZES[0], SIZES[0])
    with torch.no_grad():
        ref = model32(x)
    assert max_error(model32, deployed32, x) <= 1e-4 * max(1.0, ref.abs().max().item())


@pytest.mark.parametrize("name", ["muxnet_xs", "muxnet_s", "muxnet_m"])
def test_deploy_rewrites_the_muxnet_layers(name):
    model = randomise_batchnorm(muxnet.create_model(name, num_classes=5)).double().eval()
    deployed = deploy(model)
    kinds = {type(m) for m in deployed.modules()}
    assert GroupedAsDepthwise in kinds or name == "muxnet_xs"  # xs has no G=2 conv
    assert UnshuffledMuxConvBlock in kinds  # the last block of a stage
    assert InterleavedMuxConvBlock in kinds or name == "muxnet_xs"  # xs has one channel-mux block per stage
    assert (MultiplexedParts in kinds) == (name != "muxnet_m")
    x = torch.randn(1, 3, 64, 64, dtype=torch.float64)
    assert max_error(model, deployed, x) < 1e-10
    assert model.training is False and any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # a copy


@pytest.mark.parametrize("rewrites", [("batchnorm",), ("grouped_conv",), ("channel_multiplexing",),
                                      ("spatial_multiplexing",), ("depthwise_padding",), ("spatial_kernel",),
                                      ("shuffle_folding",)])
def test_each_rewrite_alone_is_exact(rewrites):
    model = randomise_batchnorm(muxnet.create_model("muxnet_s", num_classes=5)).double().eval()
    x = torch.randn(1, 3, 64, 64, dtype=torch.float64)
    assert max_error(model, deploy(model, rewrites=rewrites), x) < 1e-10


def test_depthwise_padding_makes_every_mixconv_split_a_multiple_of_8():
    model = randomise_batchnorm(muxnet.create_model("muxnet_m", num_classes=5)).double().eval()
    folded = fold_batchnorm(deploy(model, rewrites=()))
    odd = [m for m in folded.modules() if paddable(m)]
    assert odd and any(isinstance(m.conv_dw, MixConv) for m in odd)  # the 89-channel splits of stage 5
    padded = pad_depthwise_channels(folded)
    assert not any(paddable(m) for m in padded.modules())
    for block in odd:
        assert all(c.in_channels % 8 == 0 and c.groups == c.in_channels for c in block.conv_dw)
        assert block.conv_pw.out_channels == block.conv_pwl.in_channels == sum(block.conv_dw.in_splits)
    for size in SIZES:
        x = torch.randn(2, 3, size, size, dtype=torch.float64)
        assert max_error(model, padded, x) < 1e-10


def test_depthwise_padding_needs_folded_batchnorm():
    model = muxnet.create_model("muxnet_m", num_classes=5).eval()
    block = next(m for m in model.modules() if isinstance(getattr(m, "conv_dw", None), MixConv)
                 and any(c.in_channels % 8 for c in m.conv_dw))
    assert not paddable(block)
    with pytest.raises(ValueError, match="cannot be padded"):
        pad_depthwise_block(block)


@pytest.mark.parametrize("name", ["muxnet_m", "mobilenetv2_channelmux_l025"])  # equal and unequal parts
def test_channel_shuffle_folded_into_the_next_pointwise_conv(name):
    model = randomise_batchnorm(muxnet.create_model(name, num_classes=5)).double().eval()
    folded = fold_channel_shuffle(deploy(model, rewrites=()))
    unshuffled = [m for m in folded.modules() if isinstance(m, UnshuffledMuxConvBlock)]
    # one per stage end: the last block of a stage feeds the next stage's expanding conv or the head
    assert len(unshuffled) == 5
    kept = [m for m in folded.modules() if isinstance(m, MuxConvBlock) and m.left_out]
    assert len(kept) > len(unshuffled)  # blocks followed by a channel-multiplexing block keep their shuffle
    for size in SIZES:
        x = torch.randn(2, 3, size, size, dtype=torch.float64)
        assert max_error(model, folded, x) < 1e-10


def test_shuffle_permutation_is_the_blocks_shuffle():
    block = next(m for m in muxnet.create_model("mobilenetv2_channelmux_l025").modules()
                 if isinstance(m, MuxConvBlock) and m.left_out)
    z = torch.randn(1, block.processed + block.left_out, 3, 3)
    assert torch.equal(block.shuffle(z), z[:, shuffle_permutation(block)])


def test_deploy_rejects_unknown_rewrites():
    with pytest.raises(ValueError, match="unknown rewrite"):
        deploy(nn.Conv2d(2, 2, 1), rewrites=("winograd",))


@pytest.mark.parametrize("kernel,group_factor", [(3, 1), (3, 2), (5, 1), (5, 2), (7, 1)])
def test_superpixel_part_as_full_resolution_conv(kernel, group_factor):
    channels = 4 * group_factor * 3
    conv = nn.Conv2d(channels // 4, channels // 4, kernel, padding=kernel // 2, groups=channels // 4 // group_factor,
                     bias=False).double()
    fused = superpixel_as_conv(conv)
    assert fused.groups == conv.groups and fused.in_channels == channels
    assert fused.kernel_size[0] == 2 * ((kernel // 2 + 1) // 2) + 1
    x = torch.randn(2, channels, 6, 10, dtype=torch.float64)
    with torch.no_grad():
        assert (subpixel(conv(superpixel(x))) - fused(x)).abs().max() < 1e-10


@pytest.mark.parametrize("group,stride", [(2, 1), (2, 2), (4, 1)])
def test_grouped_conv_as_depthwise(group, stride):
    conv = nn.Conv2d(12, 12, 3, stride=stride, padding=1, groups=12 // group, bias=True).double()
    rewritten = GroupedAsDepthwise(conv)
    assert all(c.groups == 12 for c in rewritten.convs) and len(rewritten.convs) == group
    x = torch.randn(2, 12, 9, 9, dtype=torch.float64)
    assert max_error(conv, rewritten, x) < 1e-10


def test_grouped_conv_as_depthwise_only_takes_the_given_group_widths():
    model = nn.Sequential(nn.Conv2d(8, 8, 3, groups=4), nn.Conv2d(8, 8, 3, groups=1), nn.Conv2d(8, 8, 3, groups=1))
    model[2] = nn.Conv2d(8, 8, 3, groups=8)
    grouped_conv_as_depthwise(model)
    assert isinstance(model[0], GroupedAsDepthwise)
    assert isinstance(model[1], nn.Conv2d) and isinstance(model[2], nn.Conv2d)  # dense and depthwise stay
    with pytest.raises(ValueError, match="in == out"):
        GroupedAsDepthwise(nn.Conv2d(4, 8, 3, groups=2))


def test_fold_batchnorm_through_mixconv_and_spatial_multiplexing():
    model = randomise_batchnorm(muxnet.create_model("muxnet_s", num_classes=5)).double().eval()
    folded = fold_batchnorm(rewrite_spatial_multiplexing(deploy(model, rewrites=())))
    assert sum(isinstance(m, nn.BatchNorm2d) for m in folded.modules()) == 0
    x = torch.randn(1, 3, 64, 64, dtype=torch.float64)
    assert max_error(model, folded, x) < 1e-10


def test_fold_batchnorm_refuses_an_unrewritten_spatial_multiplexing():
    model = randomise_batchnorm(muxnet.create_model("muxnet_xs", num_classes=5)).eval()
    with pytest.raises(TypeError, match="SpatialMultiplexConv"):
        fold_batchnorm(model)


def test_interleaved_channel_multiplexing_keeps_unequal_blocks():
    model = randomise_batchnorm(muxnet.create_model("mobilenetv2_channelmux_l025", num_classes=5)).double().eval()
    rewritten = interleave_channel_multiplexing(deploy(model, rewrites=()))
    assert not any(isinstance(m, InterleavedMuxConvBlock) for m in rewritten.modules())  # 0.75/0.25 split
    equal = interleave_channel_multiplexing(deploy(muxnet.create_model("muxnet_m", num_classes=5), rewrites=()))
    assert any(isinstance(m, InterleavedMuxConvBlock) for m in equal.modules())


def test_deployed_spatial_multiplexing_keeps_the_odd_size_error():
    deployed = deploy(muxnet.create_model("muxnet_xs", num_classes=5))
    with pytest.raises(ValueError, match="even height and width"):
        deployed(torch.randn(1, 3, 48, 48))


def test_deploy_a_bare_layer_and_a_sequential_with_its_batchnorm():
    layer = nn.Sequential(SpatialMultiplexConv(32, 3, 2, (-1, 0, 0, 1)), nn.BatchNorm2d(32))
    randomise_batchnorm(layer).double().eval()
    deployed = deploy(layer, rewrites=("spatial_multiplexing", "batchnorm"))
    assert isinstance(deployed[0], MultiplexedParts) and isinstance(deployed[1], nn.Identity)
    bare = SpatialMultiplexConv(32, 5, 1, (1, 0, 1)).double().eval()
    x = torch.randn(2, 32, 8, 8, dtype=torch.float64)
    assert isinstance(deploy(bare, rewrites=("spatial_multiplexing",)), MultiplexedParts)
    assert max_error(layer, deployed, x) < 1e-10 and max_error(bare, deploy(bare), x) < 1e-10
