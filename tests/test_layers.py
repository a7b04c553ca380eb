import pytest
import torch
from torch import nn

from muxnet.layers import (
    ChannelShuffle,
    MixConv,
    SpatialMultiplexConv,
    SqueezeExcite,
    channel_shuffle,
    create_activation,
    processed_channels,
    spatial_partition,
    split_channels,
)


def test_equal_split_gives_the_remainder_to_the_first_group():
    assert split_channels(448, 5) == [92, 89, 89, 89, 89]  # the released MUXNet-m stage-4 reduction block
    assert split_channels(96, 3) == [32, 32, 32]


def test_exponential_split_halves_each_group():
    assert split_channels(64, 4, "exponential") == [32, 16, 8, 8]
    assert sum(split_channels(100, 3, "exponential")) == 100


def test_split_errors():
    with pytest.raises(ValueError, match="non-empty"):
        split_channels(2, 3)
    with pytest.raises(ValueError, match="unknown partition"):
        split_channels(8, 2, "random")


@pytest.mark.parametrize("stride", [1, 2])
def test_mixconv_groups_use_their_own_kernels(stride):
    conv = MixConv(12, 12, (3, 5, 7), stride=stride)
    assert [c.kernel_size[0] for c in conv] == [3, 5, 7]
    assert all(c.groups == c.in_channels == 4 for c in conv)
    out = conv(torch.randn(2, 12, 16, 16))
    assert out.shape == (2, 12, 16 // stride, 16 // stride)


def test_mixconv_channel_groups_do_not_mix():
    conv = MixConv(6, 6, (3, 5))
    x = torch.zeros(1, 6, 9, 9, requires_grad=True)
    conv(x)[0, 4, 4, 4].backward()  # output channel 4 lies in the 5x5 group
    touched = x.grad[0].abs().sum((1, 2)).nonzero().flatten().tolist()
    assert touched == [4]
    assert (x.grad[0, 4] != 0).sum() <= 25


def test_dilated_mixconv_keeps_the_receptive_field_at_3x3_cost():
    plain = MixConv(4, 4, (3, 7))
    dilated = MixConv(4, 4, (3, 7), dilated=True)
    assert dilated[1].kernel_size == (3, 3) and dilated[1].dilation == (3, 3)
    assert sum(p.numel() for p in dilated.parameters()) < sum(p.numel() for p in plain.parameters())
    x = torch.zeros(1, 4, 15, 15, requires_grad=True)
    with torch.no_grad():
        dilated[1].weight.fill_(1.0)
    dilated(x)[0, 3, 7, 7].backward()
    rows = x.grad[0, 3].abs().sum(1).nonzero().flatten()
    assert rows.max() - rows.min() + 1 == 7  # spans 7 pixels like a 7x7 kernel


def test_grouped_pointwise_mixconv():
    conv = MixConv(8, 16, (1, 1), depthwise=False)
    assert [tuple(c.weight.shape) for c in conv] == [(8, 4, 1, 1), (8, 4, 1, 1)]
    assert conv(torch.randn(1, 8, 3, 3)).shape == (1, 16, 3, 3)


def test_mixconv_rejects_bad_kernels_and_widths():
    with pytest.raises(ValueError, match="odd"):
        MixConv(8, 8, (3, 4))
    with pytest.raises(ValueError, match="in == out"):
        MixConv(8, 16, (3, 5), depthwise=True)


def test_spatial_partition_matches_the_papers_ablation_split():
    assert spatial_partition(96, [-1, 0, 0, 1]) == [(-1, 24), (0, 48), (1, 24)]
    assert spatial_partition(96, [-1, 0, 1], group_factor=2) == [(-1, 32), (0, 32), (1, 32)]
    parts = spatial_partition(100, [-1, 0, 1], group_factor=1)
    assert sum(w for _, w in parts) == 100 and all(w % 4 == 0 for s, w in parts if s == 1)


def test_spatial_partition_errors():
    with pytest.raises(ValueError, match="-1/0/1"):
        spatial_partition(96, [2])
    with pytest.raises(ValueError, match="no as-is"):
        spatial_partition(30, [-1, 1])
    with pytest.raises(ValueError, match="must divide"):
        spatial_partition(30, [0], group_factor=4)


@pytest.mark.parametrize("scales", [[-1, 0, 0], [0, 0, 1], [1, 0, 1], [-1, 0, 0, 1], [0]])
@pytest.mark.parametrize("group_factor", [1, 2, 4])
def test_spatial_multiplexing_keeps_the_shape(scales, group_factor):
    conv = SpatialMultiplexConv(96, 3, group_factor, scales)
    x = torch.randn(2, 96, 8, 8)
    assert conv(x).shape == x.shape
    for c in conv:
        assert c.weight.shape[1] == group_factor


def test_spatial_multiplexing_odd_size_error_names_the_layer_and_shape():
    conv = SpatialMultiplexConv(48, 3, 1, [-1, 0, 0])
    with pytest.raises(ValueError, match=r"SpatialMultiplexConv.*\(1, 16, 7, 7\)"):
        conv(torch.randn(1, 48, 7, 7))
    # superpixel alone has no constraint on the size
    assert SpatialMultiplexConv(48, 3, 1, [0, 0, 1])(torch.randn(1, 48, 7, 7)).shape == (1, 48, 7, 7)


def test_channel_multiplexing_shuffle_interleaves_processed_and_passed():
    x = torch.arange(8.0).view(1, 8, 1, 1)
    assert channel_shuffle(x).flatten().tolist() == [0, 4, 1, 5, 2, 6, 3, 7]
    assert torch.equal(ChannelShuffle()(x), channel_shuffle(x))
    assert processed_channels(24, 0.5) == 12
    assert processed_channels(40, 0.25) == 30
    assert processed_channels(40, 0.0) == 40
    with pytest.raises(ValueError, match="leave_out"):
        processed_channels(40, 1.0)


def test_squeeze_excite_gates_channels():
    se = SqueezeExcite(8, 2, "relu")
    x = torch.rand(1, 8, 4, 4)
    y = se(x)
    ratio = y / x
    assert torch.allclose(ratio, ratio[:, :, :1, :1].expand_as(ratio))
    assert ((ratio > 0) & (ratio < 1)).all()
    with pytest.raises(ValueError, match="reduced channel"):
        SqueezeExcite(8, 0)


def test_activation_names():
    assert isinstance(create_activation("swish"), nn.SiLU)
    with pytest.raises(ValueError, match="unknown activation 'swosh'"):
        create_activation("swosh")
