"""How MUXNet-xs and MUXNet-s were derived: a seeded, profiler-only constrained search over Table 1.

The paper searched with MOEA/D and ImageNet proxy accuracy; the resulting xs/s layouts (its Fig. 11) were never
released as code or weights. Without the accuracy objective, we pick an architecture that meets the published
budget and follows the design tendencies that Fig. 11 and the released m/l show:

1. Block widths come from :func:`~muxnet.models.zoo_xs.width_rule`; the head width is one of :data:`HEADS`.
2. Every stage's options are enumerated from the supplement's Table 1 and the cost (params, MAdds at 224,
   1000 classes) of every distinct block is measured once with :func:`muxnet.profile.profile` on the meta
   device. Stages are independent given the widths, so a network's cost is a sum of table entries plus the
   fixed blocks (stem, DS, the two fixed IRs, head, classifier), which is linear in the head width; the sum is
   exact (a test checks it against :func:`muxnet.profile_spec`).
3. Hard constraints: spatial multiplexing (S != 0, N >= 1) in stages 2 and 3, channel multiplexing (L > 0) in
   every normal block, and params and MAdds within ``tolerance`` (3%, the acceptance bound) of the budget.
4. ``samples`` draws of stages 1-3 (numpy ``default_rng(seed)``), each completed with every stage-4 option and
   every head width. Feasible networks are ranked by: fewest broken tendencies (a leave-out ratio that
   decreases with depth, reduction kernels that shrink with depth; Fig. 11 and the release show the opposite),
   then distance to the budget in whole percent, then the most normal blocks, then the exact distance.

Run ``python -m muxnet.models.derive`` to print the derivation; the chosen stages are pinned in
:mod:`muxnet.models.zoo_xs`, and a test checks that this procedure still reproduces them.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..profile import profile, profile_spec
from .blocks import create_block
from .spec import BlockSpec, NetworkSpec, ResolvedBlock, SpecError
from .zoo_xs import StageChoice, small_muxnet_spec, width_rule

# Supplement Table 1 (stage-wise search space).
NORMAL_KERNELS = (3, 5)
NORMAL_EXPANSIONS = (4, 6)
GROUP_FACTORS = (1, 2, 4)
REPEATS = (0, 1, 2, 3)
LEAVE_OUTS = (0.0, 0.25, 0.5)
SPATIAL_SCALES = ((), (-1, 0, 0), (0, 0, 1), (1, 0, 1), (-1, 0, 0, 1))
REDUCE_KERNELS = (3, (3, 5, 7), (3, 5, 7, 9))
REDUCE_EXPANSIONS = (4, 6)
SPATIAL_STAGES = (2, 3)
HEADS = tuple(range(512, 1537, 64))  # searched head widths
INPUT_SIZE = 224
STEM_STRIDE = 2


@dataclass(frozen=True)
class Derivation:
    """The outcome of :func:`derive`: the chosen stages, the spec, its measured cost and the search's record."""

    name: str
    budget: tuple[float, float]
    stages: tuple[StageChoice, ...]
    spec: NetworkSpec
    params: int
    madds: int
    samples: int
    feasible: int
    seed: int

    def report(self) -> str:
        p_budget, m_budget = self.budget
        lines = [f"{self.name}: budget {p_budget / 1e6:.2f}M params / {m_budget / 1e6:.0f}M MAdds; "
                 f"{self.feasible} feasible completions of {self.samples} sampled stage 1-3 draws (seed {self.seed})",
                 f"  measured {self.params / 1e6:.3f}M params ({self.params / p_budget - 1:+.2%}), "
                 f"{self.madds / 1e6:.1f}M MAdds ({self.madds / m_budget - 1:+.2%})",
                 f"  widths {self.spec.stem_channels}/"
                 + "/".join(str(b.out_channels) for stage in self.spec.stages[1:] for b in stage)
                 + f", head {self.spec.head_channels}"]
        lines += [f"  stage {i}: {choice.describe()}" for i, choice in enumerate(self.stages, start=1)]
        return "\n".join(lines)


def stage_options(stage: int) -> list[StageChoice]:
    """All Table 1 options of one stage (spatial multiplexing only in stages 2 and 3; none when N = 0)."""
    scales = SPATIAL_SCALES if stage in SPATIAL_STAGES else ((),)
    options = []
    for rk, re, n in itertools.product(REDUCE_KERNELS, REDUCE_EXPANSIONS, REPEATS):
        if n == 0:  # no normal block: its hyper-parameters are irrelevant
            options.append(StageChoice(rk, re, 3, 4, 1, 0, 0.0))
            continue
        for k, e, g, lo, s in itertools.product(NORMAL_KERNELS, NORMAL_EXPANSIONS, GROUP_FACTORS, LEAVE_OUTS, scales):
            options.append(StageChoice(rk, re, k, e, g, n, lo, s))
    return options


class _BlockCosts:
    """Measured (params, MAdds) of single blocks, cached: a network's cost is their sum plus fixed parts."""

    def __init__(self) -> None:
        self._cache: dict[tuple, tuple[int, int] | None] = {}

    def __call__(self, spec: BlockSpec, in_channels: int, stride: int, resolution: int) -> tuple[int, int] | None:
        key = (spec, in_channels, stride, resolution)
        if key not in self._cache:
            self._cache[key] = self._measure(spec, in_channels, stride, resolution)
        return self._cache[key]

    @staticmethod
    def _measure(spec: BlockSpec, in_channels: int, stride: int, resolution: int) -> tuple[int, int] | None:
        try:
            with torch.device("meta"):
                block = create_block(ResolvedBlock(0, 0, in_channels, spec, stride, 0.0))
        except (ValueError, SpecError):  # e.g. channels that cannot be split into the multiplexed parts
            return None
        counted = profile(block, (in_channels, resolution, resolution))
        return counted.params, counted.madds


def _variable_blocks(spec: NetworkSpec) -> list[tuple[int, BlockSpec, int, int, int]]:
    """(stage, block spec, in-channels, stride, input resolution) of every searched block of ``spec``: the
    stride-2 reduction blocks and the normal (``mux``) blocks; everything else is fixed by the skeleton."""
    out, resolution = [], INPUT_SIZE // STEM_STRIDE
    for block in spec.blocks():
        if block.stage > 0 and (block.spec.type == "mux" or block.stride == 2):
            out.append((block.stage, block.spec, block.in_channels, block.stride, resolution))
        resolution //= block.stride
    return out


def _stage_costs(costs: _BlockCosts, name: str, widths: Sequence[int], head: int, stage: int,
                 options: Sequence[StageChoice], default: Sequence[StageChoice]) -> list[tuple[int, int] | None]:
    """Cost of each option of one stage: its reduction block plus ``repeat`` times one round of normal blocks.

    Only the distinct reduction blocks and the distinct normal blocks are built (as part of a valid spec, so
    the spec's own checks reject options whose channels cannot be split); ``None`` marks an invalid option.
    """
    cache: dict[StageChoice, tuple[np.ndarray, np.ndarray] | None] = {}

    def measure(choice: StageChoice) -> tuple[np.ndarray, np.ndarray] | None:
        if choice not in cache:
            trial = list(default)
            trial[stage - 1] = choice
            try:
                spec = small_muxnet_spec(name, tuple(widths), head, tuple(trial))
            except (ValueError, SpecError):
                cache[choice] = None
                return None
            reduce_cost, normal_cost = np.zeros(2, dtype=np.int64), np.zeros(2, dtype=np.int64)
            for s, block, cin, stride, resolution in _variable_blocks(spec):
                measured = costs(block, cin, stride, resolution) if s == stage else (0, 0)
                if measured is None:
                    cache[choice] = None
                    return None
                if s == stage:
                    if block.type == "mux":
                        normal_cost += measured
                    else:
                        reduce_cost += measured
            cache[choice] = (reduce_cost, normal_cost)
        return cache[choice]

    out: list[tuple[int, int] | None] = []
    for choice in options:
        reduce_part = measure(StageChoice(choice.reduce_kernel, choice.reduce_expand, 3, 4, 1, 0, 0.0))
        normal_part = measure(dataclasses.replace(choice, reduce_kernel=3, reduce_expand=4, repeat=1)) \
            if choice.repeat else (np.zeros(2, dtype=np.int64), np.zeros(2, dtype=np.int64))
        if reduce_part is None or normal_part is None:
            out.append(None)
            continue
        total = reduce_part[0] + choice.repeat * normal_part[1]
        out.append((int(total[0]), int(total[1])))
    return out


def _stage_attributes(kept: Sequence[Sequence[StageChoice]]) -> list[dict[str, np.ndarray]]:
    return [{"repeat": np.array([c.repeat for c in opts]),
             "leave_out": np.array([c.leave_out for c in opts]),
             "reduce_kernels": np.array([len(c.kernel_sizes_reduce) for c in opts])} for opts in kept]


def _violations(attrs: list[dict[str, np.ndarray]], genomes: np.ndarray) -> np.ndarray:
    """Broken design tendencies: L decreasing between stages with normal blocks; reduction kernels shrinking."""
    broken = np.zeros(len(genomes), dtype=np.int64)
    last_leave_out = np.full(len(genomes), -1.0)
    last_kernels = np.zeros(len(genomes), dtype=np.int64)
    for s, stage in enumerate(attrs):
        repeat, leave_out = stage["repeat"][genomes[:, s]], stage["leave_out"][genomes[:, s]]
        kernels = stage["reduce_kernels"][genomes[:, s]]
        broken += (repeat > 0) & (leave_out < last_leave_out)
        last_leave_out = np.where(repeat > 0, leave_out, last_leave_out)
        broken += kernels < last_kernels
        last_kernels = kernels
    return broken


def _sample_prefixes(tables: Sequence[np.ndarray], fixed: np.ndarray, madds_limit: float, samples: int,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw stages 1-3 one after another, each uniformly among the options that still leave room for the
    cheapest completion under ``madds_limit``: a rejection-free sampler for budgets whose feasible region is
    thin (MUXNet-xs), identical to uniform sampling where the budget does not bind."""
    rng = np.random.default_rng(seed)
    orders = [np.argsort(t[:, 1], kind="stable") for t in tables]
    sorted_madds = [t[order, 1] for t, order in zip(tables, orders)]
    cheapest_rest = [sum(int(m[0]) for m in sorted_madds[s + 1:]) + int(fixed[:, 1].min()) for s in range(4)]
    prefix = np.zeros((samples, 3), dtype=np.int64)
    partial = np.zeros((samples, 2), dtype=np.int64)
    valid = np.ones(samples, dtype=bool)
    for s in range(3):
        room = madds_limit - partial[:, 1] - cheapest_rest[s]
        count = np.searchsorted(sorted_madds[s], room, side="right")
        valid &= count > 0
        pick = np.minimum((rng.random(samples) * count).astype(np.int64), np.maximum(count - 1, 0))
        prefix[:, s] = orders[s][pick]
        partial += tables[s][prefix[:, s]]
    return prefix[valid], partial[valid]


def derive(name: str, params_budget: float, madds_budget: float, samples: int = 20_000, seed: int = 0,
           tolerance: float = 0.03) -> Derivation:
    """Pick the head and stages of a small MUXNet for a (params, MAdds) budget; deterministic for a ``seed``.

    Stages 1-3 are sampled (``samples`` draws); every draw is completed with every stage-4 option and every
    head width, so that thin feasible regions (MUXNet-xs) are still found.
    """
    widths = width_rule(madds_budget)
    options = [stage_options(s) for s in range(1, 5)]
    default = [opts[0] for opts in options]  # N = 0 everywhere: the smallest valid skeleton
    costs = _BlockCosts()

    tables, kept = [], []
    for s, opts in enumerate(options, start=1):
        rows = list(zip(opts, _stage_costs(costs, name, widths, HEADS[0], s, opts, default)))
        rows = [(c, cost) for c, cost in rows if cost is not None and _allowed(s, c)]
        kept.append([c for c, _ in rows])
        tables.append(np.array([cost for _, cost in rows], dtype=np.int64))
    # The fixed part (stem, DS, fixed IRs, head, classifier) is linear in the head width: measure it at two.
    fixed_two = []
    for head in HEADS[:2]:
        base = small_muxnet_spec(name, widths, head, tuple(default))
        measured = profile_spec(base)
        fixed_two.append(np.array([measured.params, measured.madds]) - np.array(table_cost(base, costs)))
    per_channel = (fixed_two[1] - fixed_two[0]) // (HEADS[1] - HEADS[0])
    fixed = np.stack([fixed_two[0] + (h - HEADS[0]) * per_channel for h in HEADS])

    prefix, partial = _sample_prefixes(tables, fixed, madds_budget * (1 + tolerance), samples, seed)
    completion = (tables[3][:, None, :] + fixed[None, :, :]).reshape(-1, 2)  # (stage-4 option, head)
    budget = np.array([params_budget, madds_budget], dtype=np.float64)
    found_sample, found_completion, found_deviation = [], [], []
    for start in range(0, len(prefix), 256):
        total = partial[start:start + 256, None, :] + completion[None, :, :]
        deviation = np.abs(total / budget - 1.0).max(axis=-1)
        rows, cols = np.nonzero(deviation <= tolerance)
        found_sample.append(rows + start)
        found_completion.append(cols)
        found_deviation.append(deviation[rows, cols])
    sample_index = np.concatenate(found_sample)
    if not len(sample_index):
        raise RuntimeError(f"{name}: no architecture meets {params_budget / 1e6:.2f}M params / "
                           f"{madds_budget / 1e6:.0f}M MAdds within {tolerance:.1%}; raise samples or tolerance")
    completion_index = np.concatenate(found_completion)
    deviation = np.concatenate(found_deviation)
    genomes = np.column_stack([prefix[sample_index], completion_index // len(HEADS)])
    depth = sum(np.array([c.repeat for c in kept[s]])[genomes[:, s]] for s in range(4))
    # rank: fewest broken tendencies, then closest to the budget in 1% steps, then deepest, then closest
    order = np.lexsort((completion_index, sample_index, deviation, -depth, np.floor(deviation * 100),
                        _violations(_stage_attributes(kept), genomes)))
    best = order[0]
    stages = tuple(kept[s][int(genomes[best, s])] for s in range(4))
    head = HEADS[int(completion_index[best]) % len(HEADS)]
    spec = small_muxnet_spec(name, widths, head, stages)
    counted = profile_spec(spec)
    return Derivation(name, (params_budget, madds_budget), stages, spec, counted.params, counted.madds,
                      samples, len(sample_index), seed)


def _allowed(stage: int, choice: StageChoice) -> bool:
    """Hard constraints: spatial multiplexing in stages 2-3, channel multiplexing in every normal block."""
    if stage in SPATIAL_STAGES and (not choice.repeat or not choice.scales):
        return False
    return not choice.repeat or choice.leave_out > 0


def table_cost(spec: NetworkSpec, costs: _BlockCosts | None = None) -> tuple[int, int]:
    """Summed single-block cost of the searched blocks of ``spec`` (the rest of the network is fixed)."""
    costs = costs or _BlockCosts()
    params = madds = 0
    for _, block, cin, stride, resolution in _variable_blocks(spec):
        measured = costs(block, cin, stride, resolution)
        params += measured[0]
        madds += measured[1]
    return params, madds


def main(argv: Sequence[str] | None = None) -> int:
    from .zoo_xs import MUXNET_S_BUDGET, MUXNET_XS_BUDGET

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=0.03)
    args = parser.parse_args(argv)
    for name, (params, madds) in (("muxnet_xs", MUXNET_XS_BUDGET), ("muxnet_s", MUXNET_S_BUDGET)):
        result = derive(name, params, madds, args.samples, args.seed, args.tolerance)
        print(result.report())
        for stage in result.stages:
            print(f"    {stage!r},")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
