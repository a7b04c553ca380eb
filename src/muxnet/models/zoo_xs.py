"""MUXNet-xs and MUXNet-s: the small MUXNets, which use spatial multiplexing in stages 2 and 3.

The authors never released these two models, so their layouts are unknown. The specs here are built from the
supplement's stage-wise search space (Table 1) on the released MUXNet-m/l skeleton and were chosen by the
reproducible, profiler-only procedure of :mod:`muxnet.models.derive` (see ``docs/muxnet_xs_s.md``):

* fixed blocks, as in MUXNet-m/l: 3x3 stride-2 stem, a DS block (k3, SE 0.25, ReLU), the stride-1 IR that
  widens stage 3 (k5, E6) and the last IR of stage 4 (k3, E6); ReLU in stage 1, swish elsewhere, SE 0.75;
* the widths of every block are MUXNet-m's times ``sqrt(MAdds budget / MAdds of MUXNet-m)`` (multiply-adds
  grow with the square of the width), see :func:`width_rule`; the head width is searched (multiples of 64);
* per stage, one reduction IR (``reduce_kernel``, ``reduce_expand``) and ``repeat`` normal MUXConv blocks that
  share ``K, E, G, L, S`` (stage 3 has two runs of them, around its widening IR, as in m/l).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from timm.layers import make_divisible

from .spec import BlockSpec, NetworkSpec
from .zoo import register

# MUXNet-m as released: the reference for the width rule (widths of the stem and DS block, stage 1, stage 2,
# stage 3 before and after its widening IR, stage 4 and the last IR).
MUXNET_M_PARAMS = 3_354_276
MUXNET_M_MADDS = 216_808_112
MUXNET_M_WIDTHS = (24, 24, 40, 80, 112, 160, 200)


@dataclass(frozen=True)
class StageChoice:
    """One stage of the supplement's Table 1 search space.

    ``reduce_kernel``/``reduce_expand`` configure the stage's first (stride-2) block; the ``repeat`` normal
    blocks that follow share ``kernel_size`` (K), ``expand_ratio`` (E), ``group_factor`` (G), ``leave_out``
    (L) and ``scales`` (S; empty = no spatial multiplexing, only allowed non-empty in stages 2 and 3).
    """

    reduce_kernel: int | tuple[int, ...]
    reduce_expand: int
    kernel_size: int
    expand_ratio: int
    group_factor: int
    repeat: int
    leave_out: float
    scales: tuple[int, ...] = ()

    @property
    def kernel_sizes_reduce(self) -> tuple[int, ...]:
        return self.reduce_kernel if isinstance(self.reduce_kernel, tuple) else (self.reduce_kernel,)

    def describe(self) -> str:
        scales = list(self.scales) if self.scales else 0
        reduce_k = list(self.reduce_kernel) if isinstance(self.reduce_kernel, tuple) else self.reduce_kernel
        return (f"reduce K={reduce_k} E={self.reduce_expand}; normal x{self.repeat}: K={self.kernel_size} "
                f"E={self.expand_ratio} G={self.group_factor} L={self.leave_out} S={scales}")


def width_rule(madds_budget: float) -> tuple[int, ...]:
    """Block widths for a MAdds budget: MUXNet-m's times ``sqrt(madds_budget / MAdds of m)``, multiples of 8.

    The body's multiply-adds grow with the square of its width, so this keeps the body's share of the budget
    about as in m. The head is not scaled by a rule: its width (a multiple of 64) is searched, because the head
    and classifier are where a small MUXNet can hold parameters without spending multiply-adds.
    """
    multiplier = math.sqrt(madds_budget / MUXNET_M_MADDS)
    return tuple(make_divisible(c * multiplier, 8) for c in MUXNET_M_WIDTHS)


def small_muxnet_spec(name: str, widths: tuple[int, ...], head_channels: int,
                      stages: tuple[StageChoice, StageChoice, StageChoice, StageChoice],
                      drop_path_rate: float = 0.0) -> NetworkSpec:
    """The MUXNet skeleton (as m/l) filled in with four :class:`StageChoice` records."""
    if len(stages) != 4:
        raise ValueError(f"stages: a MUXNet has 4 searched stages, got {len(stages)}")
    if len(widths) != len(MUXNET_M_WIDTHS):
        raise ValueError(f"widths: expected {len(MUXNET_M_WIDTHS)} widths (stem, 1, 2, 3, 3b, 4, last), got {widths}")
    c0, c1, c2, c3a, c3b, c4, c_last = widths

    def reduce(choice: StageChoice, width: int, act: str) -> BlockSpec:
        return BlockSpec("ir", width, kernel_size=choice.reduce_kernel, stride=2, expand_ratio=choice.reduce_expand,
                         se_ratio=0.75, activation=act)

    def normal(choice: StageChoice, width: int, act: str) -> tuple[BlockSpec, ...]:
        if not choice.repeat:
            return ()
        return (BlockSpec("mux", width, kernel_size=choice.kernel_size, expand_ratio=choice.expand_ratio,
                          repeat=choice.repeat, group_factor=choice.group_factor, leave_out=choice.leave_out,
                          scales=choice.scales, se_ratio=0.75, activation=act),)

    s1, s2, s3, s4 = stages
    for index, choice in ((1, s1), (4, s4)):
        if choice.scales:
            raise ValueError(f"stages[{index}].scales: spatial multiplexing is only searched in stages 2 and 3")
    blocks = (
        (BlockSpec("ds", c0, kernel_size=3, se_ratio=0.25, activation="relu"),),
        (reduce(s1, c1, "relu"), *normal(s1, c1, "relu")),
        (reduce(s2, c2, "swish"), *normal(s2, c2, "swish")),
        (reduce(s3, c3a, "swish"), *normal(s3, c3a, "swish"),
         BlockSpec("ir", c3b, kernel_size=5, expand_ratio=6, se_ratio=0.75), *normal(s3, c3b, "swish")),
        (reduce(s4, c4, "swish"), *normal(s4, c4, "swish"),
         BlockSpec("ir", c_last, kernel_size=3, expand_ratio=6, se_ratio=0.75)),
    )
    return NetworkSpec(name, stem_channels=c0, stages=blocks, head_channels=head_channels,
                       drop_path_rate=drop_path_rate)


# -- the derived models (python -m muxnet.models.derive reproduces these choices) ------------------------------------
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


@register("muxnet_xs", "MUXNet-xs: spatial + channel multiplexing, derived to 1.8M params / 66M MAdds")
def muxnet_xs() -> NetworkSpec:
    return small_muxnet_spec("muxnet_xs", width_rule(MUXNET_XS_BUDGET[1]), MUXNET_XS_HEAD, MUXNET_XS_STAGES)


@register("muxnet_s", "MUXNet-s: spatial + channel multiplexing, derived to 2.4M params / 117M MAdds")
def muxnet_s() -> NetworkSpec:
    return small_muxnet_spec("muxnet_s", width_rule(MUXNET_S_BUDGET[1]), MUXNET_S_HEAD, MUXNET_S_STAGES)
