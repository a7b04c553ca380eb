"""The MUXNets: the released m/l and the derived xs/s, each as four stage choices on the MUXNet skeleton.

MUXNet-m/l reproduce the authors' release block for block (see ``docs/architectures.md``). The authors never
released xs and s, which use spatial multiplexing in stages 2 and 3, so their layouts are unknown. Ours come
from the supplement's Table 1 search space and were chosen by the reproducible, profiler-only procedure of
:mod:`muxnet.search.derive` (see ``docs/muxnet_xs_s.md``):

* the widths of every block are MUXNet-m's times ``sqrt(MAdds budget / MAdds of MUXNet-m)`` (multiply-adds
  grow with the square of the width), see :func:`width_rule`; the head width is searched (multiples of 64);
* the stage choices are pinned below; a test checks that the derivation still reproduces them.
"""

from __future__ import annotations

import math

from timm.layers import make_divisible

from .skeleton import MuxNetSkeleton, StageChoice
from .spec import NetworkSpec
from .zoo import register


# -- MUXNet-m/l as released ---------------------------------------------------------------------------------------
def _released(reduce_kernel: int | tuple[int, ...], reduce_expand: int, kernel_size: int, expand_ratio: int,
              repeat: int) -> StageChoice:
    """A stage of the release: its normal blocks all have G = 2 and L = 0.5 and no spatial multiplexing."""
    return StageChoice(reduce_kernel, reduce_expand, kernel_size, expand_ratio, group_factor=2, repeat=repeat,
                       leave_out=0.5)


MUXNET_M = MuxNetSkeleton("muxnet_m", (24, 24, 40, 80, 112, 160, 200), 1280, drop_path_rate=0.1)
MUXNET_M_STAGES = (_released(3, 4, 3, 4, 2), _released((3, 5, 7), 4, 3, 6, 2), _released((3, 5, 7, 9), 4, 5, 6, 2),
                   _released((3, 5, 7, 9, 11), 4, 5, 6, 3))
MUXNET_L = MuxNetSkeleton("muxnet_l", (24, 24, 40, 80, 120, 160, 200), 1536, drop_path_rate=0.15)
MUXNET_L_STAGES = (_released(3, 6, 5, 6, 2), _released((3, 5, 7), 6, 5, 6, 3), _released((3, 5, 7, 9), 6, 5, 6, 3),
                   _released((3, 5, 7, 9, 11), 6, 5, 6, 3))
# the reference of the width rule
MUXNET_M_MADDS = 216_808_112


@register("muxnet_m", "MUXNet-m as released (3.4M params, 218M MAdds)")
def muxnet_m() -> NetworkSpec:
    return MUXNET_M.spec(MUXNET_M_STAGES)


@register("muxnet_l", "MUXNet-l as released (4.0M params, 318M MAdds)")
def muxnet_l() -> NetworkSpec:
    return MUXNET_L.spec(MUXNET_L_STAGES)


# -- MUXNet-xs/s, derived (python -m muxnet.search.derive reproduces these choices) --------------------------------
def width_rule(madds_budget: float) -> tuple[int, ...]:
    """Block widths for a MAdds budget: MUXNet-m's times ``sqrt(madds_budget / MAdds of m)``, multiples of 8.

    The body's multiply-adds grow with the square of its width, so this keeps the body's share of the budget
    about as in m. The head is not scaled by a rule: its width (a multiple of 64) is searched, because the head
    and classifier are where a small MUXNet can hold parameters without spending multiply-adds.
    """
    multiplier = math.sqrt(madds_budget / MUXNET_M_MADDS)
    return tuple(make_divisible(c * multiplier, 8) for c in MUXNET_M.widths)


MUXNET_XS_BUDGET = (1.8e6, 66e6)
MUXNET_S_BUDGET = (2.4e6, 117e6)

MUXNET_XS_HEAD = 1280
MUXNET_XS_STAGES = (
    StageChoice(reduce_kernel=3, reduce_expand=4, kernel_size=3, expand_ratio=4, group_factor=1, repeat=0,
                leave_out=0.0),
    StageChoice(reduce_kernel=3, reduce_expand=4, kernel_size=5, expand_ratio=4, group_factor=1, repeat=1,
                leave_out=0.5, scales=(1, 0, 1)),
    StageChoice(reduce_kernel=3, reduce_expand=4, kernel_size=3, expand_ratio=4, group_factor=1, repeat=1,
                leave_out=0.5, scales=(-1, 0, 0)),
    StageChoice(reduce_kernel=3, reduce_expand=4, kernel_size=3, expand_ratio=4, group_factor=1, repeat=0,
                leave_out=0.0),
)

MUXNET_S_HEAD = 1216
MUXNET_S_STAGES = (
    StageChoice(reduce_kernel=3, reduce_expand=4, kernel_size=3, expand_ratio=4, group_factor=2, repeat=3,
                leave_out=0.5),
    StageChoice(reduce_kernel=(3, 5, 7), reduce_expand=4, kernel_size=3, expand_ratio=4, group_factor=2, repeat=3,
                leave_out=0.5, scales=(-1, 0, 0, 1)),
    StageChoice(reduce_kernel=(3, 5, 7), reduce_expand=4, kernel_size=5, expand_ratio=4, group_factor=1, repeat=2,
                leave_out=0.5, scales=(0, 0, 1)),
    StageChoice(reduce_kernel=(3, 5, 7), reduce_expand=4, kernel_size=5, expand_ratio=6, group_factor=4, repeat=3,
                leave_out=0.5),
)


def small_muxnet(name: str, madds_budget: float, head_channels: int) -> MuxNetSkeleton:
    """The skeleton of a small MUXNet: widths by :func:`width_rule`, the searched head, no drop-path."""
    return MuxNetSkeleton(name, width_rule(madds_budget), head_channels)


@register("muxnet_xs", "MUXNet-xs: spatial + channel multiplexing, derived to 1.8M params / 66M MAdds")
def muxnet_xs() -> NetworkSpec:
    return small_muxnet("muxnet_xs", MUXNET_XS_BUDGET[1], MUXNET_XS_HEAD).spec(MUXNET_XS_STAGES)


@register("muxnet_s", "MUXNet-s: spatial + channel multiplexing, derived to 2.4M params / 117M MAdds")
def muxnet_s() -> NetworkSpec:
    return small_muxnet("muxnet_s", MUXNET_S_BUDGET[1], MUXNET_S_HEAD).spec(MUXNET_S_STAGES)
