"""The papers' ablation model families, as named constructors with a width multiplier.

* MUXConv paper, Fig. 8a: MobileNetV2 whose stride-1 normal blocks use spatial multiplexing in their 3x3
  depthwise conv (``scales=(-1, 0, 0, 1)``: ``C_1 = C_3 = C/4`` subpixel/superpixel, ``C_2 = C/2`` as is; not
  in reduction blocks, nor at 7x7 where a subpixel part would need an even map), against plain MobileNetV2,
  at widths 0.1, 0.25, 0.5, 0.75, 1.0.
* MUXConv paper, Fig. 8b: MobileNetV2 whose normal blocks leave ``l`` of their input channels out (channel
  multiplexing, ``l`` in {0, 0.25, 0.5}).
* MixNet paper, Fig. 4 and 6: MobileNetV1/V2 whose depthwise convs are vanilla ``k x k`` (k = 3..13) or mixed
  kernels ``{3}, {3, 5}, ..., {3, ..., 13}`` with equal or exponential channel partition, or dilated.

A multiplexed MobileNetV2 block is a ``mux`` block with ``E = 6`` and ``G = 1``: the stride-1 blocks that keep
their width. Blocks that reduce the resolution or change the width stay plain inverted residuals (``ir``).
Every member is registered in the zoo (``mobilenetv2_spatialmux_050`` ...) and listed in :data:`FAMILIES`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from functools import partial

from .spec import BlockSpec, NetworkSpec, scale_width
from .zoo import register

FIG8A_WIDTHS = (0.1, 0.25, 0.5, 0.75, 1.0)
FIG8B_LEAVE_OUTS = (0.0, 0.25, 0.5)
LARGE_KERNELS = (3, 5, 7, 9, 11, 13)
SPATIAL_SCALES = (-1, 0, 0, 1)
SPATIAL_MAX_REDUCTION = 16  # spatial multiplexing on maps of at least 14x14 at 224 (MUXNets: 28x28 and 14x14)
MIN_FINAL_MAP = 4  # the smallest last feature map a network adapted to small inputs keeps (for_input_size)

# (out channels, repeats, stride) of MobileNetV2's inverted-residual stages (Sandler et al. 2018, Table 2)
_MOBILENETV2_STAGES = ((24, 2, 2), (32, 3, 2), (64, 4, 2), (96, 3, 1), (160, 3, 2), (320, 1, 1))
# (out channels, stride) of MobileNetV1's depthwise-separable blocks (Howard et al. 2017, Table 1)
_MOBILENETV1_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
                       (512, 1), (512, 1), (1024, 2), (1024, 1))

FAMILIES: dict[str, list[str]] = {}


def _kernel(kernels: tuple[int, ...]) -> int | tuple[int, ...]:
    return kernels[0] if len(kernels) == 1 else kernels


def mobilenetv2(width_multiplier: float = 1.0, kernel_sizes: tuple[int, ...] = (3,), partition: str = "equal",
                dilated: bool = False, leave_out: float = 0.0, scales: tuple[int, ...] = (),
                name: str = "mobilenetv2") -> NetworkSpec:
    """MobileNetV2 (ReLU6, no SE, DS first block, head 1280 kept below width 1.0, as timm's ``mobilenetv2_*``).

    ``leave_out``/``scales`` turn the stride-1 blocks that keep their width into MUXConv blocks (``G = 1``);
    ``kernel_sizes`` (with ``partition``/``dilated``) replaces every depthwise conv, as in MixNet's ablation.
    """
    kernel = _kernel(tuple(kernel_sizes))
    common = {"kernel_size": kernel, "activation": "relu6", "partition": partition, "dilated": dilated}
    multiplexed = bool(leave_out or scales)
    stages: list[tuple[BlockSpec, ...]] = [(BlockSpec("ds", 16, **common),)]
    reduction = 2  # the stem's stride
    for out_channels, repeat, stride in _MOBILENETV2_STAGES:
        reduction *= stride
        stage = [BlockSpec("ir", out_channels, stride=stride, expand_ratio=6, **common)]
        if repeat > 1:
            if multiplexed:
                # a subpixel part needs an even map: no spatial multiplexing at 7x7 (stride 32 at 224)
                stage_scales = tuple(scales) if reduction <= SPATIAL_MAX_REDUCTION else ()
                stage.append(BlockSpec("mux", out_channels, expand_ratio=6, repeat=repeat - 1, group_factor=1,
                                       leave_out=leave_out, scales=stage_scales, **common))
            else:
                stage.append(BlockSpec("ir", out_channels, expand_ratio=6, repeat=repeat - 1, **common))
        stages.append(tuple(stage))
    spec = NetworkSpec(name, stem_channels=32, stages=tuple(stages), head_channels=1280,
                       stem_activation="relu6", head_activation="relu6")
    # timm's rule: the head only grows with the width (max(1280, 1280 * multiplier))
    return scale_width(spec, width_multiplier, scale_head=width_multiplier > 1.0)


def mobilenetv1(width_multiplier: float = 1.0, kernel_sizes: tuple[int, ...] = (3,), partition: str = "equal",
                dilated: bool = False, name: str = "mobilenetv1") -> NetworkSpec:
    """MobileNetV1: 3x3 stem (32, stride 2) and 13 depthwise-separable blocks (BN + ReLU after both convs, no
    residual), pooled 1024 features into the classifier (no head conv)."""
    common = {"kernel_size": _kernel(tuple(kernel_sizes)), "activation": "relu", "partition": partition,
              "dilated": dilated, "pw_activation": True, "skip": False}
    blocks = tuple(BlockSpec("ds", c, stride=s, **common) for c, s in _MOBILENETV1_BLOCKS)
    spec = NetworkSpec(name, stem_channels=32, stages=(blocks,), head_channels=0, stem_activation="relu")
    return scale_width(spec, width_multiplier)


def mobilenetv2_spatialmux(width_multiplier: float = 1.0, name: str = "mobilenetv2_spatialmux") -> NetworkSpec:
    """Fig. 8a: spatial multiplexing (``scales = [-1, 0, 0, 1]``) in the normal blocks' 3x3 depthwise convs."""
    return mobilenetv2(width_multiplier, scales=SPATIAL_SCALES, name=name)


def mobilenetv2_channelmux(width_multiplier: float = 1.0, leave_out: float = 0.25,
                           name: str = "mobilenetv2_channelmux") -> NetworkSpec:
    """Fig. 8b: channel multiplexing, ``leave_out`` of every normal block's input passed through unprocessed."""
    return mobilenetv2(width_multiplier, leave_out=leave_out, name=name)


def for_input_size(spec: NetworkSpec, image_size: int, min_final_map: int = MIN_FINAL_MAP) -> NetworkSpec:
    """``spec`` for ``image_size`` x ``image_size`` inputs: its stride-2 steps are dropped from the front (the stem's
    first, then the earliest blocks') until the last feature map is at least ``min_final_map`` pixels wide.

    The papers' networks reduce 224 to 7 (32x); at 32x32 that would leave a 1x1 map, and every stage after the
    second would see maps too small for its kernels. Keeping the later strides keeps the block sequence, the
    widths and which blocks multiplex, so a member differs from its 224 form only in where it downsamples: at 32
    MobileNetV1/V2 downsample 8x to 4x4, as ``muxnet_digits`` does and as CIFAR versions of MobileNetV2 do. At
    224 nothing changes (7 >= 4).
    """
    blocks = [[block for block in stage] for stage in spec.stages]
    stem_stride = spec.stem_stride
    reduction = stem_stride * math.prod(block.stride for stage in blocks for block in stage)

    def too_small() -> bool:
        return image_size / reduction < min_final_map

    if too_small() and stem_stride == 2:
        stem_stride, reduction = 1, reduction // 2
    for stage in blocks:
        for i, block in enumerate(stage):
            if too_small() and block.stride == 2:
                stage[i] = dataclasses.replace(block, stride=1)
                reduction //= 2
    return spec.replace(stem_stride=stem_stride, stages=tuple(tuple(stage) for stage in blocks),
                        input_size=(spec.in_channels, image_size, image_size))


def _register_family(family: str, description: str, members: dict[str, Callable[[], NetworkSpec]]) -> None:
    FAMILIES[family] = list(members)
    for name, build in members.items():
        register(name, f"{description} ({family})")(build)


def _suffix(value: float) -> str:
    return f"{int(round(value * 100)):03d}"


def _kernels_name(kernels: tuple[int, ...]) -> str:
    return f"k{kernels[0]}" if len(kernels) == 1 else f"k{kernels[0]}to{kernels[-1]}"


def _register_all() -> None:
    _register_family("mobilenetv2_baseline", "MobileNetV2 (Fig. 8a baseline)", {
        f"mobilenetv2_baseline_{_suffix(w)}": partial(mobilenetv2, w, name=f"mobilenetv2_baseline_{_suffix(w)}")
        for w in FIG8A_WIDTHS})
    _register_family("mobilenetv2_spatialmux", "MobileNetV2 + spatial multiplexing (MUXConv Fig. 8a)", {
        f"mobilenetv2_spatialmux_{_suffix(w)}":
            partial(mobilenetv2_spatialmux, w, name=f"mobilenetv2_spatialmux_{_suffix(w)}")
        for w in FIG8A_WIDTHS})
    _register_family("mobilenetv2_channelmux", "MobileNetV2 + channel multiplexing (MUXConv Fig. 8b)", {
        f"mobilenetv2_channelmux_l{_suffix(lo)}":
            partial(mobilenetv2_channelmux, 1.0, lo, name=f"mobilenetv2_channelmux_l{_suffix(lo)}")
        for lo in FIG8B_LEAVE_OUTS})
    mixed = [LARGE_KERNELS[:n] for n in range(1, len(LARGE_KERNELS) + 1)]
    for net, build in (("mobilenetv1", mobilenetv1), ("mobilenetv2", mobilenetv2)):
        variants = (
            ("vanilla", "vanilla large-kernel depthwise (MixNet Fig. 4)", [(k,) for k in LARGE_KERNELS], {}),
            ("mixconv", "MixConv, equal partition (MixNet Fig. 4)", mixed, {}),
            ("mixconv_exp", "MixConv, exponential partition (MixNet Fig. 6)", mixed[1:],
             {"partition": "exponential"}),
            ("mixconv_dilated", "MixConv, dilated kernels (MixNet Fig. 6)", mixed[1:], {"dilated": True}),
        )
        for variant, description, kernel_sets, options in variants:
            members = {}
            for kernels in kernel_sets:
                name = f"{net}_{variant}_{_kernels_name(kernels)}"
                members[name] = partial(build, 1.0, kernels, name=name, **options)
            _register_family(f"{net}_{variant}", f"{net} {description}", members)


def family_members(family: str) -> list[str]:
    """Zoo names of one ablation family, in the order of its figure."""
    try:
        return list(FAMILIES[family])
    except KeyError:
        raise KeyError(f"unknown family {family!r}; available: {', '.join(sorted(FAMILIES))}") from None


_register_all()

__all__ = ["FAMILIES", "MIN_FINAL_MAP", "family_members", "for_input_size", "mobilenetv1", "mobilenetv2",
           "mobilenetv2_channelmux", "mobilenetv2_spatialmux"]
