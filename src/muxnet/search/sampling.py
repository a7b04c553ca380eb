"""Genomes near a cost target: each sub-problem's initial members, and whether a target is reachable.

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


def relative_distance(values: Sequence[float], target: Sequence[float]) -> float:
    """The largest relative deviation of the costs ``values`` from the target's (0.2 = "within 20%")."""
    values, target = np.asarray(values, dtype=float), np.asarray(target, dtype=float)
    return float(np.max(np.abs(values / target - 1.0)))


class TargetedSampler:
    """The search space as the algorithms see it, plus :meth:`sample_near`: a random genome walked towards a
    point of the search's costs (``complexity.names``: params and MAdds by default). Everything else
    (``sample``, ``crossover``, ``mutate``...) is the space's own."""

    def __init__(self, space: SearchSpace, complexity: ComplexityCache, low: Sequence[float],
                 span: Sequence[float], steps: int = 400, close_enough: float = 0.03):
        self.space, self.complexity = space, complexity
        self.low, self.span = np.asarray(low, dtype=float), np.asarray(span, dtype=float)
        self.steps, self.close_enough = steps, close_enough

    def __getattr__(self, name):  # sample, crossover, mutate, mutate_one, n_genes... come from the space
        if name.startswith("_") or name == "space":
            raise AttributeError(name)
        return getattr(self.space, name)

    def distance(self, genome: Sequence[int], goal: Sequence[float]) -> float:
        return relative_distance(self.complexity.vector(genome), goal)

    def walk(self, start: Sequence[int], goal: Sequence[float],
             rng: np.random.Generator) -> tuple[tuple[int, ...], float]:
        """Greedy one-gene moves from ``start`` towards the costs ``goal``; the genome reached and its distance."""
        genome, best = tuple(start), self.distance(start, goal)
        for _ in range(self.steps):
            if best <= self.close_enough:
                break
            candidate = tuple(self.space.mutate_one(genome, rng))
            d = self.distance(candidate, goal)
            if d < best:
                genome, best = candidate, d
        return genome, best

    def sample_near(self, reference: Sequence[float], rng: np.random.Generator) -> tuple[int, ...]:
        """A genome near a normalised reference point ``(error, cost_1, ...)`` (error is ignored)."""
        raw = self.low + self.span * np.asarray(reference, dtype=float)
        goal = np.maximum(raw[1:], np.maximum(self.low[1:], 1e-12))
        return self.walk(self.space.sample(rng), goal, rng)[0]

    def closest(self, goal: Sequence[float], starts: int = 6, seed: int = 0,
                good_enough: float = 0.0) -> tuple[tuple[int, ...], float]:
        """The closest genome found to the costs ``goal`` by walks from a few random starts and the space's
        extremes (a search, not an enumeration); stops early once one is within ``good_enough``."""
        rng = np.random.default_rng(seed)
        begin = [*self.space.extreme_genomes(), *(self.space.sample(rng) for _ in range(starts))]
        best: tuple[tuple[int, ...], float] | None = None
        for start in begin:
            found = self.walk(start, goal, rng)
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
