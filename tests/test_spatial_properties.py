"""Properties of spatial multiplexing (MUXConv paper, section 3.1), checked with hypothesis."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from muxnet.layers.spatial_multiplexing import SpatialMultiplexConv, subpixel, superpixel
from muxnet.models.blocks import MuxConvBlock
from muxnet.models.spec import BlockSpec, ResolvedBlock
from muxnet.profiling import muxconv_block_complexity, profile

SCALES = st.sampled_from([(0,), (-1, 0, 0), (0, 0, 1), (1, 0, 1), (-1, 0, 0, 1), (-1, 1)])
FAST = settings(derandomize=True, max_examples=12, deadline=None)


@FAST
@given(batch=st.integers(1, 2), channels=st.integers(1, 6), half_h=st.integers(1, 6), half_w=st.integers(1, 6))
def test_subpixel_and_superpixel_are_exact_inverses(batch, channels, half_h, half_w):
    x = torch.randn(batch, 4 * channels, 2 * half_h, 2 * half_w)
    assert subpixel(x).shape == (batch, 16 * channels, half_h, half_w)
    assert torch.equal(superpixel(subpixel(x)), x)
    assert torch.equal(subpixel(superpixel(x)), x)


def _identity_kernels(module: SpatialMultiplexConv) -> None:
    """Centre tap 1 on the weight that reads each output channel's own input channel (in-group index c % G)."""
    with torch.no_grad():
        for conv in module:
            conv.weight.zero_()
            centre = conv.kernel_size[0] // 2
            per_group = conv.in_channels // conv.groups
            for out_channel in range(conv.out_channels):
                conv.weight[out_channel, out_channel % per_group, centre, centre] = 1.0


@FAST
@given(scales=SCALES, group_factor=st.sampled_from([1, 2, 4]), units=st.integers(1, 3),
       kernel_size=st.sampled_from([1, 3, 5]), size=st.sampled_from([4, 6]))
def test_an_identity_kernel_makes_the_whole_multiplexed_conv_the_identity(scales, group_factor, units, kernel_size,
                                                                           size):
    channels = 16 * group_factor * len(scales) * units  # every part a whole number of superpixel groups
    layer = SpatialMultiplexConv(channels, kernel_size, group_factor, scales)
    _identity_kernels(layer)
    x = torch.randn(2, channels, size, size)
    torch.testing.assert_close(layer(x), x, rtol=0, atol=0)


def _support(layer: nn.Module, channels: int, size: int, channel: int) -> tuple[int, int]:
    """Height and width of the input region that one centred output pixel of ``channel`` depends on."""
    x = torch.randn(1, channels, size, size, requires_grad=True)
    layer(x)[0, channel, size // 2, size // 2].backward()
    rows, cols = torch.nonzero(x.grad[0].abs().sum(dim=0), as_tuple=True)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


@FAST
@given(kernel_size=st.sampled_from([3, 5]), seed=st.integers(0, 2**16))
def test_receptive_field_grows_by_r_for_subpixel_and_shrinks_for_superpixel(kernel_size, seed):
    torch.manual_seed(seed)
    channels, size = 48, 24
    layer = SpatialMultiplexConv(channels, kernel_size, 1, (-1, 0, 1))  # parts of 16 channels each
    with torch.no_grad():
        for conv in layer:
            conv.weight.copy_(torch.rand_like(conv.weight) + 0.1)  # no zero taps: support = receptive field
    # The extent (span - 1) of a kxk conv's receptive field is k - 1 pixels. A subpixel part runs the conv on
    # the r-times coarser map, so its extent grows to r (k - 1); a superpixel part runs it on the r-times finer
    # map, so its extent shrinks to (k - 1) / r (measured for the output channel at sub-position (0, 0)).
    assert _support(layer, channels, size, 16) == (kernel_size, kernel_size)
    grown = 2 * (kernel_size - 1) + 1
    assert _support(layer, channels, size, 0) == (grown, grown)
    shrunk = (kernel_size - 1) // 2 + 1
    assert _support(layer, channels, size, 32) == (shrunk, shrunk)


@FAST
@given(scales=SCALES, group_factor=st.sampled_from([1, 2, 4]), leave_out=st.sampled_from([0.0, 0.25, 0.5]),
       expand_ratio=st.sampled_from([4, 6]), kernel_size=st.sampled_from([3, 5]))
def test_block_params_and_madds_equal_the_analytic_formula(scales, group_factor, leave_out, expand_ratio,
                                                           kernel_size):
    channels, size = 64, 8
    spec = BlockSpec("mux", channels, kernel_size=kernel_size, expand_ratio=expand_ratio, group_factor=group_factor,
                     leave_out=leave_out, scales=scales if any(scales) else ())
    block = MuxConvBlock(ResolvedBlock(2, 1, channels, spec, 1, 0.0))
    counted = profile(block, (channels, size, size))
    conv_params = sum(m.weight.numel() for m in block.modules() if isinstance(m, nn.Conv2d))
    params, madds = muxconv_block_complexity(channels, expand_ratio, group_factor, leave_out, kernel_size,
                                             size, size, scales=scales)
    assert conv_params == round(params)
    assert counted.madds == round(madds)
