"""Channel multiplexing's concat and shuffle as one interleaving copy.

With ``C_p = C_l = n`` (leave-out 0.5, every released MUXNet), the two-group shuffle of ``[y_p, x_l]`` puts
``y_p[j]`` at channel ``2j`` and ``x_l[j]`` at ``2j + 1``: ``stack([y_p, x_l], dim=2).flatten(1, 2)``, one copy
instead of a concat followed by a transposing copy. Blocks with unequal parts keep their own forward.
"""

from __future__ import annotations

import torch
from torch import nn

from ..models.blocks import InvertedResidual, MuxConvBlock
from .replace import replace_modules


class InterleavedMuxConvBlock(nn.Module):
    """A :class:`MuxConvBlock` with ``C_p == C_l``, its output written as one interleaving stack."""

    def __init__(self, block: MuxConvBlock):
        super().__init__()
        if block.processed != block.left_out:
            raise ValueError(f"interleaving needs equal processed/left-out widths, got "
                             f"{block.processed}/{block.left_out}")
        self.block = block
        self.processed = block.processed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        processed, left_out = x.split(self.processed, dim=1)
        y = InvertedResidual.forward(self.block, processed)
        return torch.stack([y, left_out], dim=2).flatten(1, 2)


def interleave_channel_multiplexing(model: nn.Module) -> nn.Module:
    """Replace (in place) every :class:`MuxConvBlock` with equal parts by :class:`InterleavedMuxConvBlock`."""
    def match(m: nn.Module) -> bool:
        return isinstance(m, MuxConvBlock) and m.left_out > 0 and m.processed == m.left_out

    return replace_modules(model, match, InterleavedMuxConvBlock)
