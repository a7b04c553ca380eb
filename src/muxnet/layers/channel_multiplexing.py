"""Channel multiplexing (MUXConv paper, section 3.2): selective processing followed by a channel shuffle.

With leave-out ratio ``L``, the first ``C_p = int((1 - L) * C)`` channels of ``x in R^{C x H x W}`` are
processed and the remaining ``C - C_p`` pass through untouched. The two groups are concatenated as
``[processed, passed]`` and interleaved by the fixed two-group shuffle (view as ``(2, C/2)``, transpose,
flatten), so that every later block sees a mix of processed and raw channels. Processing only ``C_p``
channels divides the cost of the processing path by about ``(C / C_p)^2``.
"""

from __future__ import annotations

import torch
from torch import nn

SHUFFLE_GROUPS = 2


def processed_channels(channels: int, leave_out: float) -> int:
    """``C_p = int((1 - L) * C)``: the width of the processed path (the released models use ``int(C * 0.5)``)."""
    if not 0.0 <= leave_out < 1.0:
        raise ValueError(f"leave_out must be in [0, 1), got {leave_out}")
    return int(channels * (1.0 - leave_out) + 1e-9)


def channel_shuffle(x: torch.Tensor, groups: int = SHUFFLE_GROUPS) -> torch.Tensor:
    """Interleave ``groups`` equal channel groups: ``(B, g*n, H, W) -> (B, n*g, H, W)`` (ShuffleNet's shuffle)."""
    return x.unflatten(1, (groups, -1)).transpose(1, 2).flatten(1, 2)


class ChannelShuffle(nn.Module):
    """Module form of :func:`channel_shuffle`, so the permutation is visible to graph passes (e.g. folding)."""

    def __init__(self, groups: int = SHUFFLE_GROUPS):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_shuffle(x, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
