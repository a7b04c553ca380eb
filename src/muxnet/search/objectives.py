"""The three objectives: error (from an evaluator), params and MAdds (from the profiler), normalised.

Params and MAdds are exact counts from :func:`muxnet.profiling.count_spec` (each distinct block measured once
on the meta device, no network built), cached per genome. They are normalised to [0, 1] over the reachable
range of the space (the cheapest and the most expensive genome) before aggregation, as in section 5.1 of the
paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..profiling import count_spec
from .decomposition import Target, TargetError
from .space import SearchSpace, genome_key


@dataclass(frozen=True)
class Complexity:
    params: int
    madds: int


class ComplexityCache:
    """Params/MAdds per genome, computed once (from cached per-block counts: milliseconds once blocks repeat)."""

    def __init__(self, space: SearchSpace):
        self.space = space
        self._cache: dict[str, Complexity] = {}

    def __call__(self, genome: Sequence[int]) -> Complexity:
        key = genome_key(genome)
        if key not in self._cache:
            self._cache[key] = Complexity(*count_spec(self.space.decode(genome)))
        return self._cache[key]

    def seed(self, key: str, params: int, madds: int) -> None:
        """Fill the cache from an archive row so that a resumed run does not profile again."""
        self._cache[key] = Complexity(int(params), int(madds))


@dataclass(frozen=True)
class Normaliser:
    """Maps raw ``(error, params, madds)`` to ``(error, params_n, madds_n)`` with params/MAdds in [0, 1]."""

    params_range: tuple[float, float]
    madds_range: tuple[float, float]

    @classmethod
    def for_space(cls, space: SearchSpace, complexity: ComplexityCache | None = None) -> Normaliser:
        complexity = complexity or ComplexityCache(space)
        low, high = (complexity(g) for g in space.extreme_genomes())
        return cls((low.params, high.params), (low.madds, high.madds))

    def __call__(self, error: float, params: float, madds: float) -> np.ndarray:
        (p0, p1), (m0, m1) = self.params_range, self.madds_range
        return np.array([error, (params - p0) / (p1 - p0), (madds - m0) / (m1 - m0)], dtype=float)

    def normalise_many(self, raw: np.ndarray) -> np.ndarray:
        raw = np.atleast_2d(np.asarray(raw, dtype=float))
        return np.stack([self(*row) for row in raw]) if len(raw) else np.zeros((0, 3))

    def check_target(self, target: Target, index: int) -> np.ndarray:
        """The normalised target, or a :class:`TargetError` when the space cannot reach it."""
        for name, value, (low, high) in (("params", target.params, self.params_range),
                                         ("madds", target.madds, self.madds_range)):
            if not low <= value <= high:
                raise TargetError(
                    f"targets[{index}] {target.label()}: {name}={value / 1e6:.3g}M is outside the search "
                    f"space's reachable range {low / 1e6:.3g}M..{high / 1e6:.3g}M")
        return self(target.error, target.params, target.madds)

    @property
    def low(self) -> tuple[float, float, float]:
        """Raw objectives = ``low + span * normalised`` (error is not rescaled)."""
        return (0.0, float(self.params_range[0]), float(self.madds_range[0]))

    @property
    def span(self) -> tuple[float, float, float]:
        (p0, p1), (m0, m1) = self.params_range, self.madds_range
        return (1.0, float(p1 - p0), float(m1 - m0))

    def to_dict(self) -> dict:
        return {"params_range": list(self.params_range), "madds_range": list(self.madds_range)}


__all__ = ["Complexity", "ComplexityCache", "Normaliser"]
