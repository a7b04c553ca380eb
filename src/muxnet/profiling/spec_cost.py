"""Params and MAdds of a :class:`~muxnet.models.spec.NetworkSpec`: by building it on the meta device
(:func:`profile_spec`) or, for searches that count thousands of specs, from cached per-block counts
(:func:`count_spec`). Both give the same numbers (a test checks it)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..models.blocks import create_block
from ..models.network import build_model
from ..models.spec import BlockSpec, NetworkSpec, ResolvedBlock
from .counting import Profile, profile


def profile_spec(spec: NetworkSpec, input_size: Sequence[int] | None = None) -> Profile:
    """Profile a spec without allocating weights (meta device), with the per-layer table."""
    with torch.device("meta"):
        model = build_model(spec)
    return profile(model, input_size or spec.input_size)


@functools.lru_cache(maxsize=65536)
def block_cost(block: BlockSpec, in_channels: int, stride: int, height: int, width: int) -> tuple[int, int]:
    """``(params, MAdds)`` of one repetition of ``block`` (``block.repeat`` must be 1), measured once on the meta
    device and remembered: the one per-block cost cache of the package."""
    with torch.device("meta"):
        module = create_block(ResolvedBlock(0, 0, in_channels, block, stride, 0.0))
    counted = profile(module, (in_channels, height, width))
    return counted.params, counted.madds


def _shrink(size: int, stride: int) -> int:
    """Output size of a stride-``stride`` layer with an odd kernel and ``(k - 1) // 2`` padding."""
    return (size - 1) // stride + 1


@dataclass(frozen=True)
class BlockLayout:
    """Where every part of a spec runs, in :func:`block_cost`'s terms: the stem's input ``(C, H, W)``, each block
    as ``(block_cost arguments, repetitions)`` (the first repetition of a block, which may change width and
    resolution, and the remaining ones, which do not), and the head's input ``(C, H, W)``. The one enumeration of
    a spec's blocks: params, MAdds and the latency table all walk it."""

    stem_input: tuple[int, int, int]
    blocks: tuple[tuple[tuple[BlockSpec, int, int, int, int], int], ...]
    head_input: tuple[int, int, int]


def block_layout(spec: NetworkSpec, input_size: Sequence[int] | None = None) -> BlockLayout:
    channels, height, width = (int(v) for v in (input_size or spec.input_size))
    stem_input = (channels, height, width)
    height, width = _shrink(height, spec.stem_stride), _shrink(width, spec.stem_stride)
    in_channels = spec.stem_channels
    blocks = []
    for stage in spec.stages:
        for block in stage:
            single = block if block.repeat == 1 else dataclasses.replace(block, repeat=1)
            blocks.append(((single, in_channels, block.stride, height, width), 1))
            height, width = _shrink(height, block.stride), _shrink(width, block.stride)
            if block.repeat > 1:
                blocks.append(((single, block.out_channels, 1, height, width), block.repeat - 1))
            in_channels = block.out_channels
    return BlockLayout(stem_input, tuple(blocks), (in_channels, height, width))


def count_spec(spec: NetworkSpec, input_size: Sequence[int] | None = None) -> tuple[int, int]:
    """``(params, MAdds)`` of a spec, exactly as :func:`profile_spec` counts them, without building the network.

    Each distinct block of :func:`block_layout` (its spec, input width, stride and input resolution) is measured
    once by :func:`block_cost`; the repetitions of a block share its cost, and the stem, head and classifier are
    counted in closed form. Searches that score thousands of genomes sharing a few hundred blocks pay for each
    block once.
    """
    layout = block_layout(spec, input_size)
    channels, height, width = layout.stem_input
    height, width = _shrink(height, spec.stem_stride), _shrink(width, spec.stem_stride)
    params = spec.stem_channels * channels * 9 + 2 * spec.stem_channels
    madds = spec.stem_channels * channels * 9 * height * width
    for key, count in layout.blocks:
        block_params, block_madds = block_cost(*key)
        params, madds = params + count * block_params, madds + count * block_madds
    in_channels, height, width = layout.head_input
    if spec.head_channels:
        params += in_channels * spec.head_channels + 2 * spec.head_channels
        madds += in_channels * spec.head_channels * height * width
    if spec.num_classes:
        params += spec.num_features * spec.num_classes + spec.num_classes
        madds += spec.num_features * spec.num_classes
    return params, madds


__all__ = ["BlockLayout", "block_cost", "block_layout", "count_spec", "profile_spec"]
