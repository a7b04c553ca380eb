"""The stage-wise search space of the MUXConv supplement (Table 1) as an integer vector, and its decoder.

A genome holds, for each of the four stages, the option *index* of every searched hyperparameter:

* normal (``mux``) blocks: kernel size ``K`` {3, 5}, expansion ``E`` {4, 6}, group factor ``G`` {1, 2, 4},
  repetitions ``N`` {0, 1, 2, 3}, leave-out ``L`` {0, 0.25, 0.5}, and in stages 2 and 3 the spatial
  multiplexing ``S`` {none, [-1,0,0], [0,0,1], [1,0,1], [-1,0,0,1]};
* the reduction (``ir``, stride 2) block that opens the stage: ``K`` {3, [3,5,7], [3,5,7,9]}, ``E`` {4, 6}.

Everything that is not searched (stem, the fixed first DS block, stage widths, transition blocks, head, SE
and activations) comes from a :class:`Preset`, so the same genome decodes to an ImageNet-224 network or to a
small 32x32 one. Searching option indices instead of values lets one integer mutation/crossover serve every
gene, and makes ``genome_key`` a compact, exact identity for the archive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..models.spec import BlockSpec, NetworkSpec

NORMAL_KERNELS = (3, 5)
EXPAND_RATIOS = (4, 6)
GROUP_FACTORS = (1, 2, 4)
REPEATS = (0, 1, 2, 3)
LEAVE_OUTS = (0.0, 0.25, 0.5)
SPATIAL_SCALES: tuple[tuple[int, ...], ...] = ((), (-1, 0, 0), (0, 0, 1), (1, 0, 1), (-1, 0, 0, 1))
REDUCTION_KERNELS: tuple[int | tuple[int, ...], ...] = (3, (3, 5, 7), (3, 5, 7, 9))
NUM_STAGES = 4
SPATIAL_STAGES = (2, 3)  # 1-based, as in the paper


@dataclass(frozen=True)
class Gene:
    """One searched hyperparameter of one stage: its name in the paper's words and its options."""

    stage: int  # 1-based
    name: str
    options: tuple

    @property
    def label(self) -> str:
        return f"stage{self.stage}.{self.name}"


@dataclass(frozen=True)
class StagePreset:
    """The fixed part of a stage: its width and an optional width-changing stride-1 ``ir`` transition
    (the released MUXNets have one in stages 3 and 4; in stage 3 normal blocks follow it as well)."""

    width: int
    transition_width: int | None = None
    transition_kernel: int = 3
    transition_expand: float = 6
    normal_after_transition: bool = False


@dataclass(frozen=True)
class Preset:
    """Everything about the decoded network that the genome does not choose."""

    name: str
    input_size: tuple[int, int, int]
    stem_channels: int
    stem_stride: int
    first_block_channels: int
    stages: tuple[StagePreset, ...]
    head_channels: int
    num_classes: int
    se_ratio: float = 0.75
    first_block_se_ratio: float = 0.25
    drop_rate: float = 0.2
    description: str = field(default="", compare=False)


PRESETS: dict[str, Preset] = {
    # The released MUXNet-m skeleton: stem 24/2, DS 24, stages 24, 40, 80->112, 160->200, head 1280.
    "imagenet224": Preset(
        "imagenet224", (3, 224, 224), 24, 2, 24,
        (StagePreset(24), StagePreset(40), StagePreset(80, 112, 5, 6, True), StagePreset(160, 200, 3, 6)),
        1280, 1000, description="the paper's ImageNet setting (MUXNet-m widths, 224x224, 1000 classes)"),
    # Small enough that a candidate trains for an epoch on 1.2K 32x32 images in about a second on a CPU core;
    # the widths are the smallest for which every genome still builds (G=4 with 4-way spatial multiplexing
    # needs 64 expanded channels in stage 2).
    "small": Preset(
        "small", (3, 32, 32), 16, 2, 16,
        (StagePreset(16), StagePreset(32), StagePreset(48, 64, 3, 6, True), StagePreset(96, 128, 3, 6)),
        256, 10, description="32x32 inputs, 10 classes, small widths for CPU proxy training"),
}


def get_preset(name: str | Preset) -> Preset:
    if isinstance(name, Preset):
        return name
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; available: {', '.join(sorted(PRESETS))}") from None


def _stage_genes(stage: int) -> list[Gene]:
    genes = [Gene(stage, "normal.kernel_size", NORMAL_KERNELS), Gene(stage, "normal.expand_ratio", EXPAND_RATIOS),
             Gene(stage, "normal.group_factor", GROUP_FACTORS), Gene(stage, "normal.repeat", REPEATS),
             Gene(stage, "normal.leave_out", LEAVE_OUTS)]
    if stage in SPATIAL_STAGES:
        genes.append(Gene(stage, "normal.scales", SPATIAL_SCALES))
    genes += [Gene(stage, "reduction.kernel_size", REDUCTION_KERNELS),
              Gene(stage, "reduction.expand_ratio", EXPAND_RATIOS)]
    return genes


GENES: tuple[Gene, ...] = tuple(g for s in range(1, NUM_STAGES + 1) for g in _stage_genes(s))


def genome_key(genome: Sequence[int]) -> str:
    """The archive's identity of a genome: option indices joined by '-' (e.g. ``"1-0-2-3-..."``)."""
    return "-".join(str(int(v)) for v in genome)


def parse_genome_key(key: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in key.split("-"))
    except ValueError:
        raise ValueError(f"not a genome key: {key!r}") from None


class SearchSpace:
    """Bounds, sampling, variation and decoding of genomes for one :class:`Preset`.

    Variation works on the integer vector: uniform crossover (each gene from either parent) and a mutation
    that redraws each gene with probability ``mutation_rate`` (default ``1 / n_genes``) to a *different*
    option, so a mutated child always differs where it mutates.
    """

    def __init__(self, preset: str | Preset = "small", mutation_rate: float | None = None):
        self.preset = get_preset(preset)
        self.genes = GENES
        self.upper = np.array([len(g.options) - 1 for g in self.genes], dtype=np.int64)  # inclusive
        self.lower = np.zeros_like(self.upper)
        self.mutation_rate = mutation_rate if mutation_rate is not None else 1.0 / len(self.genes)

    # -- the space --------------------------------------------------------------------------------------------
    @property
    def n_genes(self) -> int:
        return len(self.genes)

    @property
    def size(self) -> int:
        """Number of distinct genomes (supplement: "approximately 14^12")."""
        return math.prod(len(g.options) for g in self.genes)

    def size_in_14ths(self) -> float:
        """``log_14(size)``, to compare with the paper's 14^12."""
        return math.log(self.size, 14)

    def check(self, genome: Sequence[int]) -> tuple[int, ...]:
        values = tuple(int(v) for v in genome)
        if len(values) != self.n_genes:
            raise ValueError(f"genome: expected {self.n_genes} genes, got {len(values)}")
        for gene, value, high in zip(self.genes, values, self.upper):
            if not 0 <= value <= high:
                raise ValueError(f"genome.{gene.label}: option index {value} is outside 0..{high}")
        return values

    # -- variation -----------------------------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> tuple[int, ...]:
        return tuple(int(v) for v in rng.integers(self.lower, self.upper + 1))

    def crossover(self, a: Sequence[int], b: Sequence[int], rng: np.random.Generator) -> tuple[int, ...]:
        take_b = rng.random(self.n_genes) < 0.5
        return tuple(int(y) if t else int(x) for x, y, t in zip(a, b, take_b))

    def mutate(self, genome: Sequence[int], rng: np.random.Generator) -> tuple[int, ...]:
        out = list(genome)
        for i in np.flatnonzero(rng.random(self.n_genes) < self.mutation_rate):
            choices = [v for v in range(self.upper[i] + 1) if v != out[i]]
            out[i] = int(choices[rng.integers(len(choices))])
        return tuple(int(v) for v in out)

    def mutate_one(self, genome: Sequence[int], rng: np.random.Generator) -> tuple[int, ...]:
        """Change exactly one gene (regularized evolution's mutation)."""
        out = list(genome)
        i = int(rng.integers(self.n_genes))
        choices = [v for v in range(self.upper[i] + 1) if v != out[i]]
        out[i] = int(choices[rng.integers(len(choices))])
        return tuple(out)

    # -- decoding -------------------------------------------------------------------------------------------------
    def values(self, genome: Sequence[int]) -> dict[str, object]:
        """``{"stage2.normal.scales": (-1, 0, 0), ...}``: the option each gene selects."""
        return {g.label: g.options[v] for g, v in zip(self.genes, self.check(genome))}

    def decode(self, genome: Sequence[int], name: str | None = None) -> NetworkSpec:
        """The :class:`NetworkSpec` of a genome (validated by the spec itself)."""
        values = self.values(genome)
        preset = self.preset
        stages: list[tuple[BlockSpec, ...]] = [
            (BlockSpec("ds", preset.first_block_channels, kernel_size=3, se_ratio=preset.first_block_se_ratio,
                       activation="relu"),)]
        for s, stage in enumerate(preset.stages, start=1):
            def v(gene: str, s: int = s):
                return values[f"stage{s}.{gene}"]

            act = "relu" if s == 1 else "swish"
            repeat = v("normal.repeat")
            blocks = [BlockSpec("ir", stage.width, kernel_size=v("reduction.kernel_size"), stride=2,
                                expand_ratio=v("reduction.expand_ratio"), se_ratio=preset.se_ratio, activation=act)]

            def normal(width: int, s: int = s, act: str = act, repeat: int = repeat) -> BlockSpec:
                return BlockSpec("mux", width, kernel_size=v("normal.kernel_size", s), repeat=repeat,
                                 expand_ratio=v("normal.expand_ratio", s), group_factor=v("normal.group_factor", s),
                                 leave_out=v("normal.leave_out", s),
                                 scales=v("normal.scales", s) if s in SPATIAL_STAGES else (),
                                 se_ratio=preset.se_ratio, activation=act)

            if repeat:
                blocks.append(normal(stage.width))
            if stage.transition_width:
                blocks.append(BlockSpec("ir", stage.transition_width, kernel_size=stage.transition_kernel,
                                        expand_ratio=stage.transition_expand, se_ratio=preset.se_ratio,
                                        activation=act))
                if repeat and stage.normal_after_transition:
                    blocks.append(normal(stage.transition_width))
            stages.append(tuple(blocks))
        key = genome_key(genome)
        return NetworkSpec(name or f"search_{preset.name}_{key}", stem_channels=preset.stem_channels,
                           stages=tuple(stages), head_channels=preset.head_channels,
                           num_classes=preset.num_classes, in_channels=preset.input_size[0],
                           stem_stride=preset.stem_stride, stem_activation="relu", drop_rate=preset.drop_rate,
                           input_size=preset.input_size,
                           metadata={"genome": key, "preset": preset.name})

    def extreme_genomes(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The cheapest and the most expensive genomes (fewest/most blocks, narrowest/widest everything);
        their params and MAdds bound the reachable objective range."""
        low, high = [], []
        for gene in self.genes:
            n = len(gene.options)
            if gene.name == "normal.leave_out":  # more leave-out means cheaper
                low.append(n - 1)
                high.append(0)
            elif gene.name == "normal.scales":  # no multiplexing is the reference cost
                low.append(0)
                high.append(0)
            else:
                low.append(0)
                high.append(n - 1)
        return tuple(low), tuple(high)


__all__ = ["GENES", "PRESETS", "Gene", "Preset", "SearchSpace", "StagePreset", "genome_key", "get_preset",
           "parse_genome_key"]
