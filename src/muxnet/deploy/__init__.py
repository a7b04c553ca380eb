"""``deploy(model)``: an inference-only model that computes exactly what ``model`` computes, faster.

Each rewrite is its own function and can be applied alone; :func:`deploy` applies them in the order they
depend on each other (BatchNorm folds through the rewritten spatial multiplexing, the fused spatial-multiplexing
kernel takes the folded weights, and the grouped convs are split into depthwise convs only after BatchNorm has
been folded into them).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .batchnorm import batchnorm_affine, fold_batchnorm, fold_into
from .channel import (
    InterleavedMuxConvBlock,
    UnshuffledMuxConvBlock,
    fold_channel_shuffle,
    interleave_channel_multiplexing,
)
from .grouped import GroupedAsDepthwise, grouped_conv_as_depthwise
from .kernel import FusedSpatialMultiplexing, fuse_spatial_multiplexing, kernel_available
from .padding import pad_depthwise_channels
from .spatial import MultiplexedParts, rewrite_spatial_multiplexing, superpixel_as_conv

REWRITES = ("spatial_multiplexing", "batchnorm", "depthwise_padding", "spatial_kernel", "grouped_conv",
            "channel_multiplexing", "shuffle_folding")


@torch.no_grad()
def deploy(model: nn.Module, rewrites: tuple[str, ...] = REWRITES, inplace: bool = False) -> nn.Module:
    """The inference-only form of ``model`` (a copy unless ``inplace``), in eval mode, without gradients.

    BatchNorm is folded with its running statistics, so the result equals ``model.eval()``, not a model in
    training mode.

    Args:
        rewrites: which rewrites to apply, a subset of :data:`REWRITES` (for measuring what each buys).
    """
    unknown = sorted(set(rewrites) - set(REWRITES))
    if unknown:
        raise ValueError(f"unknown rewrite(s) {unknown}; expected a subset of {list(REWRITES)}")
    model = model if inplace else copy.deepcopy(model)
    model.eval()
    if {"spatial_multiplexing", "batchnorm", "depthwise_padding", "spatial_kernel"} & set(rewrites):
        model = rewrite_spatial_multiplexing(model)
    if {"batchnorm", "depthwise_padding"} & set(rewrites):  # padding pads the folded biases along
        model = fold_batchnorm(model)
    if "depthwise_padding" in rewrites:
        model = pad_depthwise_channels(model)
    if "spatial_kernel" in rewrites:
        model = fuse_spatial_multiplexing(model)
    if "grouped_conv" in rewrites:
        model = grouped_conv_as_depthwise(model)
    if "shuffle_folding" in rewrites:
        model = fold_channel_shuffle(model)
    if "channel_multiplexing" in rewrites:
        model = interleave_channel_multiplexing(model)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


__all__ = [
    "REWRITES",
    "FusedSpatialMultiplexing",
    "GroupedAsDepthwise",
    "InterleavedMuxConvBlock",
    "UnshuffledMuxConvBlock",
    "MultiplexedParts",
    "batchnorm_affine",
    "deploy",
    "fold_batchnorm",
    "fold_channel_shuffle",
    "fold_into",
    "fuse_spatial_multiplexing",
    "grouped_conv_as_depthwise",
    "interleave_channel_multiplexing",
    "pad_depthwise_channels",
    "kernel_available",
    "rewrite_spatial_multiplexing",
    "superpixel_as_conv",
]
