"""Squeeze-and-excitation gate used by every MUXNet and MixNet block."""

from __future__ import annotations

import torch
from torch import nn

from .activations import create_activation


class SqueezeExcite(nn.Module):
    """x * sigmoid(W_e act(W_r mean_hw(x))).

    ``channels`` is the width of the tensor being gated (the expanded width in an inverted residual), while
    ``reduced_channels`` is computed by the caller from the *block input* width, as the MUXNet and MixNet
    releases do (``int(block_in * se_ratio)``), which is why it is passed explicitly instead of as a ratio.
    The parameter names (``conv_reduce``/``conv_expand``) match timm and the released checkpoints.
    """

    def __init__(self, channels: int, reduced_channels: int, activation: str = "swish"):
        super().__init__()
        if reduced_channels < 1:
            raise ValueError(f"SqueezeExcite needs at least one reduced channel, got {reduced_channels}")
        self.conv_reduce = nn.Conv2d(channels, reduced_channels, 1, bias=True)
        self.act = create_activation(activation)
        self.conv_expand = nn.Conv2d(reduced_channels, channels, 1, bias=True)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        s = self.conv_expand(self.act(self.conv_reduce(s)))
        return x * self.gate(s)
