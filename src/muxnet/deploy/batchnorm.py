"""BatchNorm folded into the convolution before it: ``BN(conv(x)) = conv'(x)`` with
``W' = W * s`` and ``b' = (b - mean) * s + beta`` per output channel, ``s = gamma / sqrt(var + eps)``.

The conv may be a plain ``nn.Conv2d``, a MixConv (each split conv takes its slice of the BN) or the deployed
spatially multiplexed conv (each part's conv takes the BN entries of the layer channels it produces).
"""

from __future__ import annotations

import torch
from torch import nn

from ..layers.mixconv import MixConv
from ..models.blocks import DepthwiseSeparable, InvertedResidual
from ..models.network import MuxNet
from .spatial import MultiplexedParts, SubpixelConv

# (conv, bn) attribute pairs of every module that holds a conv followed by its BatchNorm
FOLDABLE_PAIRS: dict[type, tuple[tuple[str, str], ...]] = {
    MuxNet: (("conv_stem", "bn1"), ("conv_head", "bn2")),
    InvertedResidual: (("conv_pw", "bn1"), ("conv_dw", "bn2"), ("conv_pwl", "bn3")),
    DepthwiseSeparable: (("conv_dw", "bn1"), ("conv_pw", "bn2")),
}

FOLDABLE_CONVS = (nn.Conv2d, MixConv, MultiplexedParts)


def batchnorm_affine(bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-channel ``(scale, shift)`` that the BatchNorm applies in eval mode."""
    if not bn.track_running_stats or bn.running_var is None:
        raise ValueError(f"cannot fold {bn}: it has no running statistics")
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale
    if bn.bias is not None:
        shift = shift + bn.bias
    return scale, shift


def fold_into_conv(conv: nn.Conv2d, scale: torch.Tensor, shift: torch.Tensor) -> None:
    """``conv`` becomes ``scale * conv(x) + shift`` (in place; a bias is added when missing)."""
    if scale.shape != (conv.out_channels,):
        raise ValueError(f"{conv}: {scale.numel()} BN channels for {conv.out_channels} conv outputs")
    bias = conv.bias if conv.bias is not None else torch.zeros_like(scale)
    conv.weight.data.mul_(scale.reshape(-1, 1, 1, 1).to(conv.weight.dtype))
    new_bias = (bias * scale + shift).to(conv.weight.dtype)
    if conv.bias is None:
        conv.bias = nn.Parameter(new_bias, requires_grad=False)
    else:
        conv.bias.data.copy_(new_bias)


def fold_into(conv: nn.Module, scale: torch.Tensor, shift: torch.Tensor) -> None:
    """Fold a per-output-channel affine map into ``conv`` of any of the kinds the blocks use."""
    if isinstance(conv, nn.Conv2d):
        fold_into_conv(conv, scale, shift)
    elif isinstance(conv, MixConv):
        for sub, s, t in zip(conv, scale.split(conv.out_splits), shift.split(conv.out_splits)):
            fold_into_conv(sub, s, t)
    elif isinstance(conv, MultiplexedParts):
        for i, part in enumerate(conv.parts):
            inner = part.conv if isinstance(part, SubpixelConv) else part
            index = conv.channel_map(i)
            fold_into_conv(inner, scale[index], shift[index])
    else:
        raise TypeError(f"cannot fold a BatchNorm into {type(conv).__name__} (rewrite it first)")


@torch.no_grad()
def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Fold every conv-then-BatchNorm pair of the blocks, the stem/head and of ``nn.Sequential`` containers
    into the conv (in place).

    Folded BatchNorms become ``nn.Identity``; the spatially multiplexed convs must already be rewritten by
    :func:`~muxnet.deploy.rewrite_spatial_multiplexing` (a BN cannot fold through a pixel shuffle).
    """
    for module in model.modules():
        pairs = next((p for cls, p in FOLDABLE_PAIRS.items() if isinstance(module, cls)), ())
        if isinstance(module, nn.Sequential):  # a conv directly followed by its BN, e.g. a layer on its own
            names = list(module._modules)
            pairs = tuple((a, b) for a, b in zip(names, names[1:]) if isinstance(module._modules[a], FOLDABLE_CONVS))
        for conv_name, bn_name in pairs:
            bn = getattr(module, bn_name)
            if not isinstance(bn, nn.BatchNorm2d):
                continue
            fold_into(getattr(module, conv_name), *batchnorm_affine(bn))
            setattr(module, bn_name, nn.Identity())
    return model
