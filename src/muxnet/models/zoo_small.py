"""Small MUXNets for small images: the embedded default's model.

``muxnet_digits`` keeps MUXNet's structure (a DS block, then per stage a mixed-kernel reduction IR block and
channel-multiplexed normal blocks with ``leave_out`` 0.5 and ``group_factor`` 2, spatial multiplexing in the
later stages, SE everywhere, ReLU in stage 1 and swish after) at a width and depth that trains on 32x32
digits in a few CPU minutes. The stem keeps stride 1 because 32x32 inputs cannot afford a 32x reduction.
"""

from __future__ import annotations

from .spec import BlockSpec, NetworkSpec
from .zoo import register


def _ir(k, e, c, s, act="swish") -> BlockSpec:
    return BlockSpec("ir", c, kernel_size=k, stride=s, expand_ratio=e, se_ratio=0.25, activation=act)


def _mux(k, e, c, scales=(), act="swish") -> BlockSpec:
    return BlockSpec("mux", c, kernel_size=k, expand_ratio=e, group_factor=2, leave_out=0.5, scales=scales,
                     se_ratio=0.25, activation=act)


@register("muxnet_digits", "a small MUXNet for 32x32 inputs (the embedded digits default)",
          input_size=(3, 32, 32), pool_size=(4, 4), interpolation="bilinear", crop_pct=1.0)
def muxnet_digits() -> NetworkSpec:
    stages = (
        (BlockSpec("ds", 16, kernel_size=3, se_ratio=0.25, activation="relu"),),
        (_ir(3, 4, 24, 2, "relu"), _mux(3, 4, 24, act="relu")),
        (_ir((3, 5), 4, 40, 2), _mux(3, 4, 40, scales=(-1, 0, 0, 1))),
        (_ir((3, 5, 7), 4, 80, 2), _mux(3, 4, 80, scales=(0, 0, 1))),
    )
    return NetworkSpec("muxnet_digits", stem_channels=16, stages=stages, head_channels=256, stem_stride=1,
                       input_size=(3, 32, 32), drop_rate=0.1)
