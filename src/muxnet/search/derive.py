"""How MUXNet-xs and MUXNet-s were derived: a seeded, profiler-only constrained search over Table 1.

The paper searched with MOEA/D and ImageNet proxy accuracy; the resulting xs/s layouts (its Fig. 11) were never
released as code or weights. Without the accuracy objective, we pick an architecture that meets the published
budget and follows the design tendencies that Fig. 11 and the released m/l show:

1. Block widths come from :func:`~muxnet.models.zoo_muxnet.width_rule`; the head width is one of :data:`HEADS`.
2. Every stage's options are those of the search space (:func:`~muxnet.search.space.stage_options`). Given the
   widths, the blocks of one stage do not depend on the other stages, so a network's cost (params, MAdds at 224,
   1000 classes) is the cost of the base network (every stage at its first option, without normal blocks) at
   its head width plus what each stage's choice adds to it. Each option's addition is counted once with
   :func:`~muxnet.profiling.count_spec`; the sum is exact (a test checks it against ``profile_spec``).
3. Hard constraints: spatial multiplexing (S != 0, N >= 1) in stages 2 and 3, channel multiplexing (L > 0) in
   every normal block, and params and MAdds within ``tolerance`` (3%, the acceptance bound) of the budget.
4. ``samples`` draws of stages 1-3 (numpy ``default_rng(seed)``), each completed with every stage-4 option and
   every head width. Feasible networks are ranked by: fewest broken tendencies (a leave-out ratio that
   decreases with depth, reduction kernels that shrink with depth; Fig. 11 and the release show the opposite),
   then distance to the budget in whole percent, then the most normal blocks, then the exact distance.

Run ``python -m muxnet.search.derive`` to print the derivation; the chosen stages are pinned in
:mod:`muxnet.models.zoo_muxnet`, and a test checks that this procedure still reproduces them.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..models.skeleton import NUM_STAGES, MuxNetSkeleton, StageChoice
from ..models.spec import NetworkSpec, SpecError
from ..models.zoo_muxnet import MUXNET_S_BUDGET, MUXNET_XS_BUDGET, small_muxnet, width_rule
from ..profiling import count_spec
from .space import SPATIAL_STAGES, stage_options

HEADS = tuple(range(512, 1537, 64))  # searched head widths


@dataclass(frozen=True)
class Derivation:
    """The outcome of :func:`derive`: the chosen stages, the spec, its cost and the search's record."""

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
                 f"  counted {self.params / 1e6:.3f}M params ({self.params / p_budget - 1:+.2%}), "
                 f"{self.madds / 1e6:.1f}M MAdds ({self.madds / m_budget - 1:+.2%})",
                 f"  widths {self.spec.stem_channels}/"
                 + "/".join(str(b.out_channels) for stage in self.spec.stages[1:] for b in stage)
                 + f", head {self.spec.head_channels}"]
        lines += [f"  stage {i}: {choice.describe()}" for i, choice in enumerate(self.stages, start=1)]
        return "\n".join(lines)


def allowed(stage: int, choice: StageChoice) -> bool:
    """Hard constraints: spatial multiplexing in stages 2-3, channel multiplexing in every normal block."""
    if stage in SPATIAL_STAGES and (not choice.repeat or not choice.scales):
        return False
    return not choice.repeat or choice.leave_out > 0


@dataclass(frozen=True)
class CostTables:
    """Additive costs of a small MUXNet with fixed widths: ``options[s]`` are stage ``s + 1``'s allowed choices,
    ``tables[s][i]`` the (params, MAdds) that option ``i`` adds to the base network, ``base[h]`` the base network's
    cost with head width ``HEADS[h]``."""

    options: list[list[StageChoice]]
    tables: list[np.ndarray]
    base: np.ndarray

    def cost(self, stages: Sequence[StageChoice], head: int) -> tuple[int, int]:
        total = self.base[HEADS.index(head)].copy()
        for s, choice in enumerate(stages):
            total += self.tables[s][self.options[s].index(choice)]
        return int(total[0]), int(total[1])


def cost_tables(widths: Sequence[int]) -> CostTables:
    """Count what every allowed, valid option of every stage adds to the base network (once per option)."""
    every = [stage_options(s) for s in range(1, NUM_STAGES + 1)]
    base_stages = [options[0] for options in every]  # N = 0 everywhere: the smallest valid network

    def counted(head: int, stages: Sequence[StageChoice]) -> np.ndarray | None:
        try:
            spec = MuxNetSkeleton("derive", tuple(widths), head).spec(stages)
        except (ValueError, SpecError):  # e.g. channels that cannot be split into the multiplexed parts
            return None
        return np.array(count_spec(spec), dtype=np.int64)

    base = counted(HEADS[0], base_stages)
    kept, tables = [], []
    for s, options in enumerate(every, start=1):
        rows = []
        for choice in options:
            if not allowed(s, choice):
                continue
            trial = list(base_stages)
            trial[s - 1] = choice
            cost = counted(HEADS[0], trial)
            if cost is not None:
                rows.append((choice, cost - base))
        kept.append([choice for choice, _ in rows])
        tables.append(np.array([cost for _, cost in rows], dtype=np.int64))
    return CostTables(kept, tables, np.stack([counted(head, base_stages) for head in HEADS]))


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
    costs = cost_tables(widths)
    kept, tables, fixed = costs.options, costs.tables, costs.base

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
    spec = small_muxnet(name, madds_budget, head).spec(stages)
    params, madds = count_spec(spec)
    return Derivation(name, (params_budget, madds_budget), stages, spec, params, madds, samples,
                      len(sample_index), seed)


def main(argv: Sequence[str] | None = None) -> int:
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
