"""Hand-designed networks in the search's own skeleton: what a user gets without searching.

The search must beat the obvious alternative at the same budget. :func:`mobilenet_v2_choices` fills a preset's
skeleton with MobileNetV2's choices (Sandler et al., CVPR 2018): every block a 3x3 inverted residual with
expansion 6, two normal blocks per stage, no spatial or channel multiplexing (``G = 1``: depthwise). Scaling its
widths (:func:`scaled_skeleton`) is MobileNetV2's width multiplier; :func:`mobilenet_v2_at` finds the multiplier
whose network has a given number of parameters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ..models.skeleton import NUM_STAGES, MuxNetSkeleton, StageChoice
from ..models.spec import NetworkSpec
from .space import get_preset

MOBILENET_V2_STAGE = StageChoice(reduce_kernel=3, reduce_expand=6, kernel_size=3, expand_ratio=6, group_factor=1,
                                 repeat=2, leave_out=0.0)


EARLY_WIDTHS = 2  # MuxNetSkeleton.widths[:2]: the stem with its DS block, and stage 1


def _round8(channels: float) -> int:
    """MobileNet's rounding of a scaled width: the nearest multiple of 8, never down by more than 10%."""
    rounded = max(8, int(channels + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * channels else rounded


def scaled_skeleton(preset: str | MuxNetSkeleton, width: float, early_width: float | None = None) -> MuxNetSkeleton:
    """``preset`` with every width and the head scaled by ``width`` (rounded to multiples of 8).

    ``early_width``, when given, scales the stem and stage 1 instead: those layers see the highest resolution, and
    rounding gives neighbouring width multipliers the same early widths, so separating the two multipliers shows
    whether a network's accuracy follows its early width or the rest of its capacity.
    """
    for label, value in (("width", width), ("early_width", early_width)):
        if value is not None and value <= 0:
            raise ValueError(f"{label} must be positive, got {value}")
    skeleton = get_preset(preset)
    early = width if early_width is None else early_width
    widths = tuple(_round8(w * (early if i < EARLY_WIDTHS else width)) for i, w in enumerate(skeleton.widths))
    suffix = "" if early_width is None else f"_early{early_width:g}"
    return dataclasses.replace(skeleton, name=f"{skeleton.name}_w{width:g}{suffix}", widths=widths,
                               head_channels=_round8(skeleton.head_channels * width))


def mobilenet_v2_choices(preset: str | MuxNetSkeleton = "small", width: float = 1.0,
                         early_width: float | None = None) -> NetworkSpec:
    """MobileNetV2's choices in ``preset``'s skeleton at width multiplier ``width`` (``early_width``: see
    :func:`scaled_skeleton`)."""
    skeleton = scaled_skeleton(preset, width, early_width)
    name, metadata = f"mobilenet_v2_choices_w{width:g}", {"baseline": "mobilenet_v2_choices", "width": width}
    if early_width is not None:
        name, metadata = f"{name}_early{early_width:g}", {**metadata, "early_width": early_width}
    return skeleton.spec([MOBILENET_V2_STAGE] * NUM_STAGES, name=name, metadata=metadata)


def mobilenet_v2_at(cost: Callable[[NetworkSpec], float], target: float, preset: str | MuxNetSkeleton = "small",
                    low: float = 0.1, high: float = 4.0) -> NetworkSpec:
    """The MobileNetV2-choices network whose ``cost`` (e.g. params) is closest to ``target``: a bisection on the
    width multiplier (cost grows with width; rounding to multiples of 8 makes it a staircase, so the closer of
    the two final bracketing networks wins)."""
    if not cost(mobilenet_v2_choices(preset, low)) <= target <= cost(mobilenet_v2_choices(preset, high)):
        raise ValueError(f"target {target:g} is outside what widths {low:g}..{high:g} reach")
    for _ in range(30):
        middle = (low + high) / 2
        if cost(mobilenet_v2_choices(preset, middle)) < target:
            low = middle
        else:
            high = middle
    candidates = [mobilenet_v2_choices(preset, w) for w in (low, high)]
    return min(candidates, key=lambda spec: abs(cost(spec) - target))


__all__ = ["MOBILENET_V2_STAGE", "mobilenet_v2_at", "mobilenet_v2_choices", "scaled_skeleton"]
