"""Genomes near a complexity target: each sub-problem's initial members, and whether a target is reachable.

Uniform sampling over Table 1 concentrates around the middle of the reachable range (on the ``small`` preset
90% of random genomes have under 1.1M params), so a target such as 1.5M params would start with no member
anywhere near it. Params and MAdds are exact and cheap to count (:class:`~muxnet.search.objectives.ComplexityCache`,
about 2 ms per genome once the blocks are known), so a random genome is walked towards the target by accepting
one-gene mutations that bring it closer: every start is random, so the members of one target differ, and no
evaluation is spent on it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .objectives import ComplexityCache
from .space import SearchSpace


def relative_distance(params: float, madds: float, target_params: float, target_madds: float) -> float:
    """The larger of the relative params and MAdds deviations from the target (0.2 = "within 20%")."""
    return max(abs(params / target_params - 1.0), abs(madds / target_madds - 1.0))


class TargetedSampler:
    """The search space as the algorithms see it, plus :meth:`sample_near`: a random genome walked towards a
    (params, MAdds) point. Everything else (``sample``, ``crossover``, ``mutate``...) is the space's own."""

    def __init__(self, space: SearchSpace, complexity: ComplexityCache, low: Sequence[float],
                 span: Sequence[float], steps: int = 400, close_enough: float = 0.03):
        self.space, self.complexity = space, complexity
        self.low, self.span = np.asarray(low, dtype=float), np.asarray(span, dtype=float)
        self.steps, self.close_enough = steps, close_enough

    def __getattr__(self, name):  # sample, crossover, mutate, mutate_one, n_genes... come from the space
        if name.startswith("_") or name == "space":
            raise AttributeError(name)
        return getattr(self.space, name)

    def distance(self, genome: Sequence[int], params: float, madds: float) -> float:
        cost = self.complexity(genome)
        return relative_distance(cost.params, cost.madds, params, madds)

    def walk(self, start: Sequence[int], params: float, madds: float,
             rng: np.random.Generator) -> tuple[tuple[int, ...], float]:
        """Greedy one-gene moves from ``start`` towards (params, MAdds); the genome reached and its distance."""
        genome, best = tuple(start), self.distance(start, params, madds)
        for _ in range(self.steps):
            if best <= self.close_enough:
                break
            candidate = tuple(self.space.mutate_one(genome, rng))
            d = self.distance(candidate, params, madds)
            if d < best:
                genome, best = candidate, d
        return genome, best

    def sample_near(self, reference: Sequence[float], rng: np.random.Generator) -> tuple[int, ...]:
        """A genome near a normalised reference point ``(error, params_n, madds_n)`` (error is ignored)."""
        raw = self.low + self.span * np.asarray(reference, dtype=float)
        params, madds = max(raw[1], self.low[1]), max(raw[2], self.low[2])
        return self.walk(self.space.sample(rng), params, madds, rng)[0]

    def closest(self, params: float, madds: float, starts: int = 6, seed: int = 0,
                good_enough: float = 0.0) -> tuple[tuple[int, ...], float]:
        """The closest genome found to (params, MAdds) by walks from a few random starts and the space's
        extremes (a search, not an enumeration); stops early once one is within ``good_enough``."""
        rng = np.random.default_rng(seed)
        begin = [*self.space.extreme_genomes(), *(self.space.sample(rng) for _ in range(starts))]
        best: tuple[tuple[int, ...], float] | None = None
        for start in begin:
            found = self.walk(start, params, madds, rng)
            if best is None or found[1] < best[1]:
                best = found
            if best[1] <= good_enough:
                break
        return best


def initial_members(space, references: np.ndarray, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """One initial genome per reference point: near it when the space offers ``sample_near``, else uniform."""
    near = getattr(space, "sample_near", None)
    if near is None:
        return [tuple(space.sample(rng)) for _ in range(len(references))]
    return [tuple(near(r, rng)) for r in references]


__all__ = ["TargetedSampler", "initial_members", "relative_distance"]
