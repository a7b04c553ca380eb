"""The stage-wise search space of the MUXConv supplement (Table 1) as an integer vector, and its decoder.

Table 1 is defined here, once. A genome holds, for each of the four stages, the option *index* of every searched
hyperparameter:

* normal (``mux``) blocks: kernel size ``K`` {3, 5}, expansion ``E`` {4, 6}, group factor ``G`` {1, 2, 4},
  repetitions ``N`` {0, 1, 2, 3}, leave-out ``L`` {0, 0.25, 0.5}, and in stages 2 and 3 the spatial
  multiplexing ``S`` {none, [-1,0,0], [0,0,1], [1,0,1], [-1,0,0,1]};
* the reduction (``ir``, stride 2) block that opens the stage: ``K`` {3, [3,5,7], [3,5,7,9]}, ``E`` {4, 6}.

A genome decodes to four :class:`~muxnet.models.skeleton.StageChoice` records, which a preset (a
:class:`~muxnet.models.skeleton.MuxNetSkeleton`: widths, head, input size, classes) turns into a network, so the
same genome decodes to an ImageNet-224 network or to a small 32x32 one. Searching option indices instead of
values lets one integer mutation/crossover serve every gene, and makes ``genome_key`` a compact, exact identity
for the archive.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..models.skeleton import NUM_STAGES, MuxNetSkeleton, StageChoice
from ..models.spec import NetworkSpec
from ..models.zoo_muxnet import MUXNET_M

# -- Table 1 of the supplement ------------------------------------------------------------------------------------
NORMAL_KERNELS = (3, 5)
EXPAND_RATIOS = (4, 6)
GROUP_FACTORS = (1, 2, 4)
REPEATS = (0, 1, 2, 3)
LEAVE_OUTS = (0.0, 0.25, 0.5)
SPATIAL_SCALES: tuple[tuple[int, ...], ...] = ((), (-1, 0, 0), (0, 0, 1), (1, 0, 1), (-1, 0, 0, 1))
REDUCTION_KERNELS: tuple[int | tuple[int, ...], ...] = (3, (3, 5, 7), (3, 5, 7, 9))
SPATIAL_STAGES = (2, 3)  # 1-based, as in the paper


@dataclass(frozen=True)
class Gene:
    """One searched hyperparameter of one stage: its name in the paper's words, the
    :class:`~muxnet.models.skeleton.StageChoice` field it sets, and its options."""

    stage: int  # 1-based
    name: str
    field: str
    options: tuple

    @property
    def label(self) -> str:
        return f"stage{self.stage}.{self.name}"


# Presets are MUXNet skeletons: what a decoded network has beyond its genome.
PRESETS: dict[str, MuxNetSkeleton] = {
    "imagenet224": dataclasses.replace(
        MUXNET_M, name="imagenet224", drop_path_rate=0.0,
        description="the paper's ImageNet setting (MUXNet-m widths, 224x224, 1000 classes)"),
    # Small enough that a candidate trains for an epoch on 1.2K 32x32 images in about a second on a CPU core;
    # the widths are the smallest for which every genome still builds (G=4 with 4-way spatial multiplexing
    # needs 64 expanded channels in stage 2).
    "small": MuxNetSkeleton(
        "small", (16, 16, 32, 48, 64, 96, 128), 256, widening_kernels=(3, 3), input_size=(3, 32, 32),
        num_classes=10, description="32x32 inputs, 10 classes, small widths for CPU proxy training"),
}


def get_preset(name: str | MuxNetSkeleton) -> MuxNetSkeleton:
    if isinstance(name, MuxNetSkeleton):
        return name
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; available: {', '.join(sorted(PRESETS))}") from None


def _stage_genes(stage: int) -> list[Gene]:
    genes = [Gene(stage, "normal.kernel_size", "kernel_size", NORMAL_KERNELS),
             Gene(stage, "normal.expand_ratio", "expand_ratio", EXPAND_RATIOS),
             Gene(stage, "normal.group_factor", "group_factor", GROUP_FACTORS),
             Gene(stage, "normal.repeat", "repeat", REPEATS),
             Gene(stage, "normal.leave_out", "leave_out", LEAVE_OUTS)]
    if stage in SPATIAL_STAGES:
        genes.append(Gene(stage, "normal.scales", "scales", SPATIAL_SCALES))
    genes += [Gene(stage, "reduction.kernel_size", "reduce_kernel", REDUCTION_KERNELS),
              Gene(stage, "reduction.expand_ratio", "reduce_expand", EXPAND_RATIOS)]
    return genes


GENES: tuple[Gene, ...] = tuple(g for s in range(1, NUM_STAGES + 1) for g in _stage_genes(s))


def stage_options(stage: int) -> list[StageChoice]:
    """Every distinct :class:`StageChoice` that Table 1 allows in ``stage`` (1-based): with ``N = 0`` the normal
    blocks' genes do not matter, so they collapse to their first options."""
    genes = {g.field: g.options for g in GENES if g.stage == stage}
    scales = genes.get("scales", ((),))
    options = []
    for kernel, expand, repeat in itertools.product(genes["reduce_kernel"], genes["reduce_expand"], REPEATS):
        if repeat == 0:
            options.append(StageChoice(kernel, expand, NORMAL_KERNELS[0], EXPAND_RATIOS[0], GROUP_FACTORS[0], 0,
                                       LEAVE_OUTS[0]))
            continue
        for k, e, g, lo, s in itertools.product(NORMAL_KERNELS, EXPAND_RATIOS, GROUP_FACTORS, LEAVE_OUTS, scales):
            options.append(StageChoice(kernel, expand, k, e, g, repeat, lo, s))
    return options


def genome_key(genome: Sequence[int]) -> str:
    """The archive's identity of a genome: option indices joined by '-' (e.g. ``"1-0-2-3-..."``)."""
    return "-".join(str(int(v)) for v in genome)


def parse_genome_key(key: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in key.split("-"))
    except ValueError:
        raise ValueError(f"not a genome key: {key!r}") from None


class SearchSpace:
    """Bounds, sampling, variation and decoding of genomes for one preset (a MUXNet skeleton).

    Variation works on the integer vector: uniform crossover (each gene from either parent) and a mutation
    that redraws each gene with probability ``mutation_rate`` (default ``1 / n_genes``) to a *different*
    option, so a mutated child always differs where it mutates.
    """

    def __init__(self, preset: str | MuxNetSkeleton = "small", mutation_rate: float | None = None,
                 bounds: tuple[Sequence[int], Sequence[int]] | None = None):
        self.preset = get_preset(preset)
        self.genes = GENES
        full = np.array([len(g.options) - 1 for g in self.genes], dtype=np.int64)  # inclusive
        if bounds is None:
            self.lower, self.upper = np.zeros_like(full), full
        else:
            self.lower, self.upper = (np.asarray(b, dtype=np.int64) for b in bounds)
            for gene, low, high, top in zip(self.genes, self.lower, self.upper, full):
                if not 0 <= low <= high <= top:
                    raise ValueError(f"bounds.{gene.label}: {low}..{high} is not inside 0..{top}")
        self.free = np.flatnonzero(self.upper > self.lower)  # the genes variation may change
        if len(self.free) == 0:
            raise ValueError("bounds: every gene is fixed; a search needs at least one free gene")
        self.mutation_rate = mutation_rate if mutation_rate is not None else 1.0 / len(self.free)

    @classmethod
    def covering(cls, genomes: Sequence[Sequence[int]], preset: str | MuxNetSkeleton = "small") -> SearchSpace:
        """The sub-space spanned by ``genomes`` (each gene between its smallest and largest option among them):
        a tabular benchmark's genomes, when they enumerate a product of option ranges, as the build script's do."""
        full = cls(preset)
        checked = np.array([full.check(g) for g in genomes], dtype=np.int64)
        if len(checked) == 0:
            raise ValueError("genomes: no genome to span a sub-space")
        return cls(preset, bounds=(checked.min(axis=0), checked.max(axis=0)))

    # -- the space --------------------------------------------------------------------------------------------
    @property
    def n_genes(self) -> int:
        return len(self.genes)

    @property
    def size(self) -> int:
        """Number of distinct genomes (supplement: "approximately 14^12"; a sub-space: its own count)."""
        return math.prod(int(h - lo + 1) for lo, h in zip(self.lower, self.upper))

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

    def _redraw(self, out: list[int], i: int, rng: np.random.Generator) -> None:
        choices = [v for v in range(self.lower[i], self.upper[i] + 1) if v != out[i]]
        out[i] = int(choices[rng.integers(len(choices))])

    def mutate(self, genome: Sequence[int], rng: np.random.Generator) -> tuple[int, ...]:
        out = list(genome)
        for i in self.free[rng.random(len(self.free)) < self.mutation_rate]:
            self._redraw(out, int(i), rng)
        return tuple(int(v) for v in out)

    def mutate_one(self, genome: Sequence[int], rng: np.random.Generator) -> tuple[int, ...]:
        """Change exactly one free gene (regularized evolution's mutation)."""
        out = list(genome)
        self._redraw(out, int(self.free[rng.integers(len(self.free))]), rng)
        return tuple(int(v) for v in out)

    def neighbours(self, genome: Sequence[int]) -> list[tuple[int, ...]]:
        """Every genome that differs from ``genome`` in exactly one free gene: a local search's whole step."""
        base = list(genome)
        out = []
        for i in self.free:
            for v in range(int(self.lower[i]), int(self.upper[i]) + 1):
                if v != base[i]:
                    out.append(tuple(base[:i] + [v] + base[i + 1:]))
        return out

    # -- decoding -------------------------------------------------------------------------------------------------
    def values(self, genome: Sequence[int]) -> dict[str, object]:
        """``{"stage2.normal.scales": (-1, 0, 0), ...}``: the option each gene selects."""
        return {g.label: g.options[v] for g, v in zip(self.genes, self.check(genome))}

    def stage_choices(self, genome: Sequence[int]) -> tuple[StageChoice, ...]:
        """The four :class:`StageChoice` records a genome selects (stages without ``S`` get none)."""
        fields: list[dict[str, object]] = [{} for _ in range(NUM_STAGES)]
        for gene, value in zip(self.genes, self.check(genome)):
            fields[gene.stage - 1][gene.field] = gene.options[value]
        return tuple(StageChoice(**stage) for stage in fields)

    def decode(self, genome: Sequence[int], name: str | None = None) -> NetworkSpec:
        """The :class:`NetworkSpec` of a genome (validated by the spec itself)."""
        key = genome_key(genome)
        return self.preset.spec(self.stage_choices(genome), name or f"search_{self.preset.name}_{key}",
                                metadata={"genome": key, "preset": self.preset.name})

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
        clip = lambda g: tuple(int(v) for v in np.clip(g, self.lower, self.upper))  # noqa: E731 (a sub-space)
        return clip(low), clip(high)


__all__ = ["EXPAND_RATIOS", "GENES", "GROUP_FACTORS", "LEAVE_OUTS", "NORMAL_KERNELS", "PRESETS", "REDUCTION_KERNELS",
           "REPEATS", "SPATIAL_SCALES", "SPATIAL_STAGES", "Gene", "SearchSpace", "genome_key", "get_preset",
           "parse_genome_key", "stage_options"]
