import pytest
from torch import nn

from muxnet.models.blocks import InvertedResidual, MuxConvBlock
from muxnet.models.spec import BlockSpec, ResolvedBlock
from muxnet.profiling import complexity_ratio, mobilenet_block_complexity, muxconv_block_complexity, profile


def _conv_counts(block: nn.Module, channels: int, size: int):
    """Params and MAdds of the conv layers alone (the appendix ignores BN, activations and SE)."""
    p = profile(block, (channels, size, size))
    return sum(r.params for r in p.layers), p.madds


@pytest.mark.parametrize("channels, expand, group_factor, leave_out",
                         [(24, 4, 2, 0.5), (40, 6, 1, 0.25), (64, 4, 4, 0.0), (80, 6, 2, 0.5)])
def test_muxconv_block_costs_equal_appendix_b(channels, expand, group_factor, leave_out):
    spec = BlockSpec("mux", channels, kernel_size=3, expand_ratio=expand, group_factor=group_factor,
                     leave_out=leave_out)
    block = MuxConvBlock(ResolvedBlock(0, 0, channels, spec, 1, 0.0))
    params, madds = _conv_counts(block, channels, 14)
    expected_params, expected_flops = muxconv_block_complexity(channels, expand, group_factor, leave_out, 3, 14, 14)
    assert params == expected_params
    assert madds == expected_flops


@pytest.mark.parametrize("channels, expand", [(24, 6), (32, 4)])
def test_mobilenet_block_costs_equal_appendix_b(channels, expand):
    spec = BlockSpec("ir", channels, kernel_size=3, expand_ratio=expand)
    block = InvertedResidual(ResolvedBlock(0, 0, channels, spec, 1, 0.0))
    params, madds = _conv_counts(block, channels, 7)
    assert (params, madds) == mobilenet_block_complexity(channels, expand, 3, 7, 7)


def test_search_space_choices_are_cheaper_than_a_mobilenet_block():
    # the paper's Fig. 13: the searched G and L keep MUXConv at or below MobileNet's cost
    for group_factor in (1, 2, 4):
        for leave_out in (0.25, 0.5):
            assert complexity_ratio(40, 6, group_factor, leave_out) < 1.0
    assert complexity_ratio(40, 6, 4, 0.0) > 1.0
