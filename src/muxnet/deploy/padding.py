"""Depthwise convs padded with zero channels to a multiple of 8, so that ONNX Runtime takes its fast path.

ONNX Runtime's NCHWc convolutions take depthwise convs only when the channel count is a multiple of the SIMD
block (8 floats); otherwise they run as im2col plus tiny GEMMs, measured 3-5x slower here for the 89-channel
7x7-11x11 MixConv splits of MUXNet-m. In an inverted residual the expanded channels are made by the expanding
1x1 conv, so zero channels can be added exactly: the expanding conv gets zero rows (and zero bias) there, the
activation keeps them zero (``act(0) = 0`` for SiLU, ReLU, hard-swish), the padded depthwise filters are zero,
squeeze-excite reads them with zero weights (its gate multiplies zeros), and the projecting 1x1 conv gets zero
columns. Every split of a MixConv is padded on its own, so each split conv qualifies.

Applied after BatchNorm folding (the folded biases are padded along), to blocks whose expanding and projecting
convs are plain ``nn.Conv2d``; other blocks are left as they are.
"""

from __future__ import annotations

import torch
from torch import nn

from ..layers.mixconv import MixConv
from ..layers.squeeze_excite import SqueezeExcite
from ..models.blocks import InvertedResidual

MULTIPLE = 8


def _padded(width: int, multiple: int) -> int:
    return -(-width // multiple) * multiple


def _copy_conv(conv: nn.Conv2d, in_channels: int, out_channels: int, groups: int) -> nn.Conv2d:
    new = nn.Conv2d(in_channels, out_channels, conv.kernel_size, stride=conv.stride, padding=conv.padding,
                    dilation=conv.dilation, groups=groups, bias=conv.bias is not None)
    new = new.to(conv.weight.dtype)
    new.weight.data.zero_()
    if new.bias is not None:
        new.bias.data.zero_()
    return new


def _with_rows(conv: nn.Conv2d, index: torch.Tensor, width: int) -> nn.Conv2d:
    """``conv`` whose output channel ``j`` becomes channel ``index[j]`` of ``width``, the others zero."""
    new = _copy_conv(conv, conv.in_channels, width, conv.groups)
    new.weight.data[index] = conv.weight.data
    if conv.bias is not None:
        new.bias.data[index] = conv.bias.data
    return new


def _with_columns(conv: nn.Conv2d, index: torch.Tensor, width: int) -> nn.Conv2d:
    """``conv`` reading its input channel ``j`` from channel ``index[j]`` of ``width``, the others ignored."""
    new = _copy_conv(conv, width, conv.out_channels, conv.groups)
    new.weight.data[:, index] = conv.weight.data
    if conv.bias is not None:
        new.bias.data.copy_(conv.bias.data)
    return new


def _depthwise_splits(conv: nn.Module) -> list[nn.Conv2d] | None:
    """The depthwise convs of a depthwise conv or MixConv, in channel order; ``None`` for anything else."""
    convs = list(conv) if isinstance(conv, MixConv) else [conv]
    if all(isinstance(c, nn.Conv2d) and c.groups == c.in_channels == c.out_channels for c in convs):
        return convs
    return None


def _keeps_zero(activation: nn.Module, dtype: torch.dtype) -> bool:
    with torch.no_grad():
        return bool(activation(torch.zeros(1, dtype=dtype)).eq(0).all())


def paddable(block: nn.Module, multiple: int = MULTIPLE) -> bool:
    """Whether ``block`` is an inverted residual whose depthwise conv(s) can be padded exactly (and need it)."""
    if not isinstance(block, InvertedResidual) or not isinstance(block.conv_pw, nn.Conv2d):
        return False
    if not isinstance(block.conv_pwl, nn.Conv2d) or block.conv_pw.groups != 1 or block.conv_pwl.groups != 1:
        return False
    if not all(isinstance(bn, nn.Identity) for bn in (block.bn1, block.bn2)):  # fold BatchNorm first
        return False
    if not isinstance(block.se, (nn.Identity, SqueezeExcite)):
        return False
    splits = _depthwise_splits(block.conv_dw)
    if splits is None or all(c.in_channels % multiple == 0 for c in splits):
        return False
    dtype = block.conv_pw.weight.dtype
    return _keeps_zero(block.act1, dtype) and _keeps_zero(block.act2, dtype)


@torch.no_grad()
def pad_depthwise_block(block: InvertedResidual, multiple: int = MULTIPLE) -> InvertedResidual:
    """Pad (in place) every depthwise split of ``block`` to a multiple of ``multiple`` channels (exact)."""
    if not paddable(block, multiple):
        raise ValueError(f"{type(block).__name__} cannot be padded exactly (see muxnet.deploy.padding)")
    splits = _depthwise_splits(block.conv_dw)
    index, padded_convs, start = [], [], 0
    for conv in splits:
        width = _padded(conv.in_channels, multiple)
        index.append(torch.arange(start, start + conv.in_channels))
        padded = _copy_conv(conv, width, width, width)
        padded.weight.data[:conv.in_channels] = conv.weight.data
        if conv.bias is not None:
            padded.bias.data[:conv.in_channels] = conv.bias.data
        padded_convs.append(padded)
        start += width
    index = torch.cat(index)
    total = start
    block.conv_pw = _with_rows(block.conv_pw, index, total)
    if isinstance(block.conv_dw, MixConv):
        for i, conv in enumerate(padded_convs):
            block.conv_dw[i] = conv
        block.conv_dw.in_splits = block.conv_dw.out_splits = [c.in_channels for c in padded_convs]
    else:
        block.conv_dw = padded_convs[0]
    if isinstance(block.se, SqueezeExcite):
        block.se.conv_reduce = _with_columns(block.se.conv_reduce, index, total)
        block.se.conv_expand = _with_rows(block.se.conv_expand, index, total)
    block.conv_pwl = _with_columns(block.conv_pwl, index, total)
    return block


@torch.no_grad()
def pad_depthwise_channels(model: nn.Module, multiple: int = MULTIPLE) -> nn.Module:
    """Pad (in place) the depthwise convs of every inverted residual where :func:`paddable` holds."""
    for module in model.modules():
        if paddable(module, multiple):
            pad_depthwise_block(module, multiple)
    return model
