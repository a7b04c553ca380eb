"""The MUXNet skeleton: the fixed frame that every MUXNet (xs, s, m, l) and every searched genome fills in.

As released (MUXNet-m/l) and as searched in the supplement (Table 1), a MUXNet is

* a 3x3 stem (swish) and a depthwise-separable block (k3, SE 0.25, ReLU) of the stem's width;
* four stages, each a stride-2 reduction ``ir`` block followed by ``repeat`` normal ``mux`` blocks that share
  ``K, E, G, L, S`` (one :class:`StageChoice` per stage). Stage 3 widens with a stride-1 ``ir`` block and
  repeats its normal blocks after it; stage 4 ends with a widening stride-1 ``ir`` block;
* ReLU in stage 1, swish after; SE 0.75 of the processed channels in every stage block;
* a 1x1 head, global pooling, dropout and the classifier.

:class:`MuxNetSkeleton` holds what the stage choices do not set (widths, head, the widening blocks' kernels,
input size, classes, regularisation); :meth:`MuxNetSkeleton.spec` turns four stage choices into a
:class:`~muxnet.models.spec.NetworkSpec`. The zoo's MUXNets and the search's presets are skeletons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .spec import BlockSpec, NetworkSpec

NUM_STAGES = 4
STAGE_SE_RATIO = 0.75
FIRST_BLOCK_SE_RATIO = 0.25
WIDENING_EXPAND_RATIO = 6


@dataclass(frozen=True)
class StageChoice:
    """What a stage's blocks look like, in the supplement's Table 1 vocabulary.

    ``reduce_kernel``/``reduce_expand`` configure the stage's first (stride-2) block; the ``repeat`` normal
    blocks that follow share ``kernel_size`` (K), ``expand_ratio`` (E), ``group_factor`` (G), ``leave_out``
    (L) and ``scales`` (S; empty = no spatial multiplexing). With ``repeat = 0`` the stage has no normal block.
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


@dataclass(frozen=True)
class MuxNetSkeleton:
    """Everything about a MUXNet that its four :class:`StageChoice` records do not choose.

    ``widths`` are the output widths of (stem and DS block, stage 1, stage 2, stage 3, stage 3 after its
    widening block, stage 4, stage 4's widening block); ``widening_kernels`` are the kernel sizes of the
    stride-1 widening blocks of stages 3 and 4.
    """

    name: str
    widths: tuple[int, int, int, int, int, int, int]
    head_channels: int
    widening_kernels: tuple[int, int] = (5, 3)
    stem_stride: int = 2
    input_size: tuple[int, int, int] = (3, 224, 224)
    num_classes: int = 1000
    drop_rate: float = 0.2
    drop_path_rate: float = 0.0
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if len(self.widths) != 7:
            raise ValueError(f"{self.name}.widths: expected 7 widths (stem, 1, 2, 3, 3 widened, 4, 4 widened), "
                             f"got {self.widths}")
        if len(self.widening_kernels) != 2:
            raise ValueError(f"{self.name}.widening_kernels: expected the kernels of stage 3's and stage 4's "
                             f"widening blocks, got {self.widening_kernels}")

    def spec(self, stages: Sequence[StageChoice], name: str | None = None,
             metadata: Mapping[str, Any] | None = None) -> NetworkSpec:
        """The network with ``stages`` filled in; the spec validates every width, group and multiplexed part."""
        if len(stages) != NUM_STAGES:
            raise ValueError(f"stages: a MUXNet has {NUM_STAGES} stages, got {len(stages)}")
        stem, width1, width2, width3, widened3, width4, widened4 = self.widths
        kernel3, kernel4 = self.widening_kernels
        s1, s2, s3, s4 = stages
        blocks = (
            (BlockSpec("ds", stem, kernel_size=3, se_ratio=FIRST_BLOCK_SE_RATIO, activation="relu"),),
            (_reduction(s1, width1, "relu"), *_normal(s1, width1, "relu")),
            (_reduction(s2, width2), *_normal(s2, width2)),
            (_reduction(s3, width3), *_normal(s3, width3), _widening(kernel3, widened3), *_normal(s3, widened3)),
            (_reduction(s4, width4), *_normal(s4, width4), _widening(kernel4, widened4)),
        )
        return NetworkSpec(name or self.name, stem_channels=stem, stages=blocks, head_channels=self.head_channels,
                           num_classes=self.num_classes, in_channels=self.input_size[0],
                           stem_stride=self.stem_stride, drop_rate=self.drop_rate,
                           drop_path_rate=self.drop_path_rate, input_size=self.input_size,
                           metadata=dict(metadata or {}))


def _reduction(choice: StageChoice, width: int, activation: str = "swish") -> BlockSpec:
    return BlockSpec("ir", width, kernel_size=choice.reduce_kernel, stride=2, expand_ratio=choice.reduce_expand,
                     se_ratio=STAGE_SE_RATIO, activation=activation)


def _normal(choice: StageChoice, width: int, activation: str = "swish") -> tuple[BlockSpec, ...]:
    if not choice.repeat:
        return ()
    return (BlockSpec("mux", width, kernel_size=choice.kernel_size, expand_ratio=choice.expand_ratio,
                      repeat=choice.repeat, group_factor=choice.group_factor, leave_out=choice.leave_out,
                      scales=choice.scales, se_ratio=STAGE_SE_RATIO, activation=activation),)


def _widening(kernel_size: int, width: int) -> BlockSpec:
    return BlockSpec("ir", width, kernel_size=kernel_size, expand_ratio=WIDENING_EXPAND_RATIO,
                     se_ratio=STAGE_SE_RATIO)


__all__ = ["NUM_STAGES", "MuxNetSkeleton", "StageChoice"]
