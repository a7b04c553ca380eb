"""Spatial multiplexing (MUXConv paper, section 3.1): multi-scale grouped convolution by pixel shuffling.

The ``C`` channels of ``x in R^{C x H x W}`` are split into parts, one per entry of ``scales``:

* ``-1`` (subpixel, r=2): ``C_1 x H x W -> r^2 C_1 x H/r x W/r`` (space-to-channel), which grows the
  receptive field of the following convolution by ``r``;
* ``0`` (as is): ``C_2 x H x W`` unchanged;
* ``+1`` (superpixel, r=2): ``C_3 x H x W -> C_3/r^2 x rH x rW`` (channel-to-space), which shrinks it by ``r``.

Each part goes through a grouped ``k x k`` convolution with ``G`` input channels per group (``G=1`` is
depthwise) and is mapped back by the inverse shuffle, so the output has the input's shape. A subpixel part
costs ``r^2`` times the parameters of an as-is part of the same width and a superpixel part ``1/r^2`` of them,
while all three cost the same multiply-adds: ``C_i * G * k^2 * H * W``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.fx
from torch import nn
from torch.nn import functional as F

from .mixconv import same_padding

SUBPIXEL, IDENTITY, SUPERPIXEL = -1, 0, 1
SCALES = (SUBPIXEL, IDENTITY, SUPERPIXEL)
RATIO = 2  # r: the paper only uses r = 2


# The ratio is a default argument, not a read of RATIO inside the body: TorchScript cannot read module globals.
def subpixel(x: torch.Tensor, ratio: int = RATIO) -> torch.Tensor:
    """Space-to-channel: ``(B, C, H, W) -> (B, 4C, H/2, W/2)``."""
    return F.pixel_unshuffle(x, ratio)


def superpixel(x: torch.Tensor, ratio: int = RATIO) -> torch.Tensor:
    """Channel-to-space: ``(B, C, H, W) -> (B, C/4, 2H, 2W)``; the exact inverse of :func:`subpixel`."""
    return F.pixel_shuffle(x, ratio)


def check_multiplexable(x: torch.Tensor, layer: str, ratio: int = RATIO) -> torch.Tensor:
    """Raise a clear error when a subpixel part receives a map whose height or width is odd."""
    height, width = x.shape[-2], x.shape[-1]
    if height % ratio or width % ratio:
        shape = "(" + ", ".join([str(size) for size in x.shape]) + ")"  # tuple(x.shape) does not script
        raise ValueError(
            f"{layer}: subpixel multiplexing needs an even height and width, got a feature map of shape "
            f"{shape}; choose an input size whose feature maps stay even at this stage "
            f"(for example a multiple of 32)"
        )
    return x


# Symbolic tracing would otherwise try to branch on a traced shape.
torch.fx.wrap("check_multiplexable")


def spatial_partition(channels: int, scales: Sequence[int], group_factor: int = 1) -> list[tuple[int, int]]:
    """Split ``channels`` into ``len(scales)`` near-equal parts and merge neighbours of the same scale.

    Every part is rounded down to a multiple of ``4 * group_factor`` (so that a superpixel part has whole
    conv groups after channel-to-space) and what is left over goes to the first as-is part. Returns
    ``[(scale, width), ...]`` with consecutive equal scales merged, e.g. ``[-1, 0, 0, 1]`` on 96 channels
    gives ``[(-1, 24), (0, 48), (1, 24)]`` (the ``C_1 = C_3 = C/4, C_2 = C/2`` split of the paper's ablation).
    """
    scales = [int(s) for s in scales]
    if not scales or any(s not in SCALES for s in scales):
        raise ValueError(f"scales must be a non-empty list of -1/0/1, got {scales}")
    if group_factor < 1 or channels % group_factor:
        raise ValueError(f"group_factor {group_factor} must divide the {channels} channels")
    unit = RATIO * RATIO * group_factor
    widths = [channels // len(scales) // unit * unit for _ in scales]
    remainder = channels - sum(widths)
    if remainder:
        if IDENTITY not in scales:
            raise ValueError(
                f"cannot split {channels} channels equally into {scales} with group_factor {group_factor}: "
                f"{remainder} channels are left over and no as-is (0) part can take them"
            )
        widths[scales.index(IDENTITY)] += remainder
    parts: list[tuple[int, int]] = []
    for scale, width in zip(scales, widths):
        if width == 0:
            raise ValueError(
                f"{channels} channels are too few for scales {scales} with group_factor {group_factor} "
                f"(each multiplexed part needs a multiple of {unit})"
            )
        if parts and parts[-1][0] == scale:
            parts[-1] = (scale, parts[-1][1] + width)
        else:
            parts.append((scale, width))
    return parts


class SpatialMultiplexConv(nn.ModuleList):
    """The spatially multiplexed grouped ``k x k`` convolution that replaces a depthwise conv in MUXConv.

    Args:
        channels: ``C`` (input and output width).
        kernel_size: ``k``.
        group_factor: ``G``, input channels per group of every part's convolution.
        scales: one entry per equal channel part: ``-1`` subpixel, ``0`` as is, ``1`` superpixel.

    Shapes: ``(B, C, H, W) -> (B, C, H, W)``; ``H`` and ``W`` must be even when a subpixel part is present.
    The module is the list of the parts' convolutions (state_dict keys ``0.weight``, ``1.weight``, ...).
    """

    def __init__(self, channels: int, kernel_size: int, group_factor: int = 1, scales: Sequence[int] = (0,)):
        super().__init__()
        self.channels = channels
        self.kernel_size = kernel_size
        self.group_factor = group_factor
        self.parts = spatial_partition(channels, scales, group_factor)
        self.part_scales = [scale for scale, _ in self.parts]
        self.part_widths = [width for _, width in self.parts]
        self.layer_name = (f"SpatialMultiplexConv(C={channels}, k={kernel_size}, G={group_factor}, "
                           f"scales={list(scales)})")
        for scale, width in self.parts:
            conv_width = {SUBPIXEL: width * RATIO * RATIO, SUPERPIXEL: width // (RATIO * RATIO)}.get(scale, width)
            self.append(
                nn.Conv2d(
                    conv_width, conv_width, kernel_size, padding=same_padding(kernel_size),
                    groups=conv_width // group_factor, bias=False,
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.split(x, self.part_widths, dim=1)
        out = []
        for i, conv in enumerate(self):
            scale = self.part_scales[i]
            part = parts[i]
            # the sign of a scale is its direction (SUBPIXEL < IDENTITY < SUPERPIXEL); compared with 0 because
            # TorchScript cannot read the module's constants
            if scale < 0:
                part = superpixel(conv(subpixel(check_multiplexable(part, self.layer_name))))
            elif scale > 0:
                part = subpixel(conv(superpixel(part)))
            else:
                part = conv(part)
            out.append(part)
        return torch.cat(out, dim=1)

    def extra_repr(self) -> str:
        return f"parts={self.parts}, kernel_size={self.kernel_size}, group_factor={self.group_factor}"
