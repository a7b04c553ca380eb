"""Spatial multiplexing without pixel shuffles where an exact full-resolution form exists.

A superpixel part ``subpixel(conv_G(superpixel(x)))`` is translation invariant on the input's own grid: output
channel ``4o + 2a + b`` (phase ``(a, b)`` of high-resolution channel ``o``) at ``(y, x)`` reads input channels
``4i + 2a' + b'`` of the same conv group at ``(y + floor((a + dy) / 2), x + floor((b + dx) / 2))``. So it is one
ordinary convolution at the input resolution with groups of ``4G`` channels and a ``2R+1`` kernel,
``R = (p + 1) // 2`` for the original padding ``p`` (3x3 for ``k <= 5``); zero padding maps onto zero padding.
Its output channels are the layer's own, so the following BatchNorm folds into it.

A subpixel part is not translation invariant at full resolution (its weights depend on the output phase), so it
keeps its pixel (un)shuffle; the as-is part is already an ordinary grouped convolution.
"""

from __future__ import annotations

import torch
from torch import nn

from ..layers.mixconv import same_padding
from ..layers.spatial_multiplexing import (
    RATIO,
    SUBPIXEL,
    SUPERPIXEL,
    SpatialMultiplexConv,
    check_multiplexable,
    subpixel,
    superpixel,
)
from .replace import replace_modules


class SubpixelConv(nn.Module):
    """``superpixel(conv(subpixel(x)))``: the subpixel part, kept in its own form."""

    def __init__(self, conv: nn.Conv2d, layer_name: str):
        super().__init__()
        self.conv = conv
        self.layer_name = layer_name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return superpixel(self.conv(subpixel(check_multiplexable(x, self.layer_name))))


class MultiplexedParts(nn.Module):
    """The deployed spatially multiplexed conv: one module per channel part, outputs concatenated.

    ``channel_maps[i]`` gives, for every output channel of part ``i``'s innermost conv, the layer channel it
    becomes, which is what BatchNorm folding needs (a subpixel conv's channel ``j`` is layer channel ``j // 4``).
    """

    def __init__(self, parts: list[nn.Module], widths: list[int], channel_maps: list[torch.Tensor]):
        super().__init__()
        self.parts = nn.ModuleList(parts)
        self.widths = list(widths)
        for i, index in enumerate(channel_maps):
            self.register_buffer(f"channel_map{i}", index, persistent=False)

    def channel_map(self, i: int) -> torch.Tensor:
        return getattr(self, f"channel_map{i}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pieces = torch.split(x, self.widths, dim=1)
        return torch.cat([part(piece) for part, piece in zip(self.parts, pieces)], dim=1)


def superpixel_as_conv(conv: nn.Conv2d) -> nn.Conv2d:
    """The superpixel part around ``conv`` (``subpixel . conv . superpixel``) as one conv at input resolution."""
    if conv.stride != (1, 1) or conv.dilation != (1, 1) or conv.kernel_size[0] != conv.kernel_size[1]:
        raise ValueError(f"superpixel_as_conv needs a square, stride-1, undilated conv, got {conv}")
    k, pad = conv.kernel_size[0], conv.padding[0]
    if pad != same_padding(k):
        raise ValueError(f"superpixel_as_conv needs 'same' padding {same_padding(k)}, got {pad}")
    r2 = RATIO * RATIO
    group_in = conv.in_channels // conv.groups
    radius = (pad + 1) // 2
    size = 2 * radius + 1
    weight = conv.weight.new_zeros(conv.out_channels * r2, group_in * r2, size, size)
    for a in range(RATIO):
        for b in range(RATIO):
            for dy in range(-pad, pad + 1):
                for dx in range(-pad, pad + 1):
                    ty, tx = a + dy, b + dx
                    src_phase = (ty % RATIO) * RATIO + tx % RATIO
                    ky, kx = ty // RATIO + radius, tx // RATIO + radius
                    out_rows = torch.arange(conv.out_channels) * r2 + a * RATIO + b
                    in_cols = torch.arange(group_in) * r2 + src_phase
                    weight[out_rows[:, None], in_cols[None, :], ky, kx] += conv.weight[:, :, dy + pad, dx + pad]
    fused = nn.Conv2d(conv.in_channels * r2, conv.out_channels * r2, size, padding=radius, groups=conv.groups,
                      bias=conv.bias is not None)
    fused.weight.data.copy_(weight)
    if conv.bias is not None:
        fused.bias.data.copy_(conv.bias.repeat_interleave(r2))
    return fused.to(conv.weight.dtype)


def deploy_spatial_multiplexing(layer: SpatialMultiplexConv) -> MultiplexedParts:
    """Rewrite one :class:`SpatialMultiplexConv` (superpixel parts become full-resolution convs)."""
    parts, maps = [], []
    start = 0
    for conv, scale, width in zip(layer, layer.part_scales, layer.part_widths):
        channels = torch.arange(start, start + width)
        if scale == SUPERPIXEL:
            parts.append(superpixel_as_conv(conv))
            maps.append(channels)
        elif scale == SUBPIXEL:
            parts.append(SubpixelConv(conv, layer.layer_name))
            maps.append(channels.repeat_interleave(RATIO * RATIO))
        else:
            parts.append(conv)
            maps.append(channels)
        start += width
    return MultiplexedParts(parts, layer.part_widths, maps)


def rewrite_spatial_multiplexing(model: nn.Module) -> nn.Module:
    """Replace every :class:`SpatialMultiplexConv` in ``model`` (in place) by its :class:`MultiplexedParts`."""
    return replace_modules(model, lambda m: isinstance(m, SpatialMultiplexConv), deploy_spatial_multiplexing)
