"""MixConv / MDConv (Tan & Le, BMVC 2019): one convolution whose channel groups use different kernel sizes.

Given ``x in R^{C x H x W}`` and kernels ``k_1 < k_2 < ... < k_g``, the channels are partitioned into
``C = C_1 + ... + C_g``; group ``i`` is convolved with a ``k_i x k_i`` kernel and the outputs are concatenated.
With ``depthwise=True`` every group is a depthwise conv (MDConv); with ``depthwise=False`` and all kernels 1 it is
MixNet's "grouped pointwise" convolution (the ``a1.1``/``p1.1`` options of its block strings).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

PARTITIONS = ("equal", "exponential")


def split_channels(channels: int, groups: int, partition: str = "equal") -> list[int]:
    """Channel counts of the ``groups`` parts.

    ``equal``: ``channels // groups`` each, the remainder going to the *first* group (as in the MixNet and
    MUXNet releases, which the checkpoint layouts depend on). ``exponential``: group ``i`` takes
    ``channels // 2**(i+1)`` and the last group takes what is left, so the small kernels get most channels
    (MixNet paper, section 4).
    """
    if groups < 1:
        raise ValueError(f"need at least one group, got {groups}")
    if partition == "equal":
        sizes = [channels // groups] * groups
        sizes[0] += channels - sum(sizes)
    elif partition == "exponential":
        sizes = [channels // 2 ** (i + 1) for i in range(groups - 1)]
        sizes.append(channels - sum(sizes))
    else:
        raise ValueError(f"unknown partition {partition!r}; expected one of {PARTITIONS}")
    if min(sizes) < 1:
        raise ValueError(f"cannot split {channels} channels into {groups} non-empty {partition} groups: {sizes}")
    return sizes


def same_padding(kernel_size: int, dilation: int = 1) -> int:
    """Symmetric padding that keeps the size at stride 1 (``(k-1)//2``, dilated)."""
    return dilation * (kernel_size - 1) // 2


class MixConv(nn.ModuleList):
    """Mixed-kernel convolution: one ``nn.Conv2d`` per kernel size, applied to its channel group.

    Args:
        in_channels, out_channels: total widths; both are split with ``partition``.
        kernel_sizes: one kernel per group, e.g. ``(3, 5, 7)``.
        stride: 1 or 2, shared by all groups.
        depthwise: each group is depthwise (requires ``in_channels == out_channels``).
        dilated: MixNet's dilated variant: a kernel ``k > 3`` is replaced by a 3x3 kernel with dilation
            ``(k - 1) // 2``, which has the same receptive field and the cost of a 3x3.

    The module is the list of its sub-convolutions, so state_dict keys read ``conv_dw.0.weight`` as in
    timm's MixNet and the released MUXNets.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_sizes: Sequence[int],
        stride: int = 1,
        depthwise: bool = True,
        partition: str = "equal",
        dilated: bool = False,
    ):
        super().__init__()
        kernel_sizes = tuple(int(k) for k in kernel_sizes)
        if not kernel_sizes or any(k < 1 or k % 2 == 0 for k in kernel_sizes):
            raise ValueError(f"MixConv kernels must be odd positive integers, got {kernel_sizes}")
        if depthwise and in_channels != out_channels:
            raise ValueError(f"a depthwise MixConv needs in == out channels, got {in_channels} -> {out_channels}")
        self.in_splits = split_channels(in_channels, len(kernel_sizes), partition)
        self.out_splits = split_channels(out_channels, len(kernel_sizes), partition)
        self.kernel_sizes = kernel_sizes
        for k, cin, cout in zip(kernel_sizes, self.in_splits, self.out_splits):
            dilation = (k - 1) // 2 if dilated and k > 3 else 1
            kernel = 3 if dilation > 1 else k
            self.append(
                nn.Conv2d(
                    cin, cout, kernel, stride=stride, padding=same_padding(kernel, dilation),
                    dilation=dilation, groups=cin if depthwise else 1, bias=False,
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.split(x, self.in_splits, dim=1)
        out = []
        for i, conv in enumerate(self):
            out.append(conv(parts[i]))
        return torch.cat(out, dim=1)
