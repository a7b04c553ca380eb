"""The three block types of MUXNet/MixNet and :func:`create_block`, which builds one from a resolved spec.

Submodule names follow timm's EfficientNet blocks and the released MUXNet checkpoints (``conv_pw``, ``bn1``,
``conv_dw``, ``bn2``, ``se``, ``conv_pwl``, ``bn3``), so those state_dicts load without renaming.
"""

from __future__ import annotations

import torch
from timm.layers import DropPath
from torch import nn

from ..layers.activations import create_activation
from ..layers.channel_multiplexing import ChannelShuffle, processed_channels
from ..layers.mixconv import MixConv, same_padding
from ..layers.spatial_multiplexing import SpatialMultiplexConv
from ..layers.squeeze_excite import SqueezeExcite
from .spec import BlockSpec, ResolvedBlock, block_mid_channels


def _pointwise(in_channels: int, out_channels: int, groups: int) -> nn.Module:
    """1x1 conv; MixNet's grouped pointwise conv (split in/out channels) when ``groups > 1``."""
    if groups == 1:
        return nn.Conv2d(in_channels, out_channels, 1, bias=False)
    return MixConv(in_channels, out_channels, [1] * groups, depthwise=False)


def _spatial_conv(channels: int, spec: BlockSpec, stride: int) -> nn.Module:
    """The kxk conv of a block: plain grouped/depthwise, mixed kernels (MixConv) or spatially multiplexed."""
    if spec.scales and any(spec.scales):
        return SpatialMultiplexConv(channels, spec.kernel_sizes[0], spec.group_factor, spec.scales)
    if len(spec.kernel_sizes) > 1 or spec.dilated:
        return MixConv(channels, channels, spec.kernel_sizes, stride=stride, depthwise=True,
                       partition=spec.partition, dilated=spec.dilated)
    k = spec.kernel_sizes[0]
    return nn.Conv2d(channels, channels, k, stride=stride, padding=same_padding(k),
                     groups=channels // spec.group_factor, bias=False)


def _squeeze_excite(channels: int, block_in: int, spec: BlockSpec) -> nn.Module:
    if not spec.se_ratio:
        return nn.Identity()
    return SqueezeExcite(channels, int(block_in * spec.se_ratio), spec.activation)


class DepthwiseSeparable(nn.Module):
    """dw kxk conv, BN, act, SE, pw 1x1 conv, BN (act only for MobileNetV1), + shortcut when shapes allow."""

    def __init__(self, block: ResolvedBlock):
        super().__init__()
        spec, cin = block.spec, block.in_channels
        self.has_skip = spec.skip and block.stride == 1 and cin == spec.out_channels
        self.conv_dw = _spatial_conv(cin, spec, block.stride)
        self.bn1 = nn.BatchNorm2d(cin)
        self.act1 = create_activation(spec.activation)
        self.se = _squeeze_excite(cin, cin, spec)
        self.conv_pw = nn.Conv2d(cin, spec.out_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(spec.out_channels)
        self.act2 = create_activation(spec.activation) if spec.pw_activation else nn.Identity()
        self.drop_path = DropPath(block.drop_path_rate) if block.drop_path_rate and self.has_skip else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.act1(self.bn1(self.conv_dw(x)))
        x = self.se(x)
        x = self.act2(self.bn2(self.conv_pw(x)))
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x


class InvertedResidual(nn.Module):
    """MobileNetV2 inverted bottleneck: 1x1 expand (x E), BN, act, kxk conv, BN, act, SE, 1x1 project, BN.

    The reduction block of MUXNet stages (``ir``); its kxk conv may be mixed-kernel (MixConv).
    """

    def __init__(self, block: ResolvedBlock, in_channels: int | None = None, out_channels: int | None = None):
        super().__init__()
        spec = block.spec
        cin = block.in_channels if in_channels is None else in_channels
        cout = spec.out_channels if out_channels is None else out_channels
        mid = block_mid_channels(block)
        self.has_skip = spec.skip and block.stride == 1 and cin == cout
        self.conv_pw = _pointwise(cin, mid, spec.expand_groups)
        self.bn1 = nn.BatchNorm2d(mid)
        self.act1 = create_activation(spec.activation)
        self.conv_dw = _spatial_conv(mid, spec, block.stride)
        self.bn2 = nn.BatchNorm2d(mid)
        self.act2 = create_activation(spec.activation)
        self.se = _squeeze_excite(mid, cin, spec)
        self.conv_pwl = _pointwise(mid, cout, spec.project_groups)
        self.bn3 = nn.BatchNorm2d(cout)
        self.drop_path = DropPath(block.drop_path_rate) if block.drop_path_rate and self.has_skip else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inverted_residual(x)

    def inverted_residual(self, x: torch.Tensor) -> torch.Tensor:
        # a method of its own, not ``super().forward``, so that subclasses can call it under TorchScript
        shortcut = x
        x = self.act1(self.bn1(self.conv_pw(x)))
        x = self.act2(self.bn2(self.conv_dw(x)))
        x = self.se(x)
        x = self.bn3(self.conv_pwl(x))
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x


class MuxConvBlock(InvertedResidual):
    """The MUXConv block: channel multiplexing around an inverted residual on the processed channels.

    ``x -> [x_p, x_l]`` (the first ``C_p = int((1 - L) C)`` channels and the ``C - C_p`` left out);
    ``y_p = IR(x_p)`` whose kxk conv is the spatially multiplexed grouped conv (``G``, ``scales``);
    ``y = shuffle([y_p, x_l])``. With ``L = 0`` it is a plain (grouped, multiplexed) inverted residual.
    """

    def __init__(self, block: ResolvedBlock):
        self.processed = processed_channels(block.in_channels, block.spec.leave_out)
        super().__init__(block, in_channels=self.processed, out_channels=self.processed)
        self.left_out = block.in_channels - self.processed
        self.shuffle = ChannelShuffle() if self.left_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.left_out == 0:
            return self.inverted_residual(x)
        processed, left_out = torch.split(x, [self.processed, self.left_out], dim=1)
        return self.shuffle(torch.cat([self.inverted_residual(processed), left_out], dim=1))


_BLOCKS = {"ds": DepthwiseSeparable, "ir": InvertedResidual, "mux": MuxConvBlock}


def create_block(block: ResolvedBlock) -> nn.Module:
    return _BLOCKS[block.spec.type](block)
