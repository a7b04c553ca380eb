"""The objectives: error (from an evaluator) and one or two costs of the network, normalised.

``--objectives`` names them: ``error`` plus one or two of ``params``, ``madds``, ``latency`` (default
``error,params,madds``, the paper's three). Error is always one of them: the search trades accuracy for cost, and
without it any model at the target's cost would do and no candidate would need training. A cost is an
:class:`Objective`, a function of the :class:`~muxnet.models.spec.NetworkSpec`; besides the built-in ones, the
Python API takes custom ones (energy, another latency model):
``run_search(SearchConfig(objectives="error,params,energy", targets="params=1M,energy=2.5"), out,
objectives=[Objective("energy", my_energy)])``.

Params and MAdds are exact counts from :func:`muxnet.profiling.count_spec` (each distinct block measured once on
the meta device, no network built); latency is the sum of per-block entries of a
:class:`~muxnet.profiling.latency.LatencyTable` measured on this machine. Every cost is computed once per genome
(:class:`ComplexityCache`) and normalised to [0, 1] over the space's range (its values at the cheapest and the
most expensive genome, or the objective's own ``range``) before aggregation, as in section 5.1 of the paper.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..models.spec import NetworkSpec
from ..profiling import count_spec
from .decomposition import Target, TargetError, format_value
from .space import SearchSpace, genome_key

ERROR = "error"
BUILTIN_COSTS = ("params", "madds", "latency")
DEFAULT_OBJECTIVES = "error,params,madds"


class ObjectiveError(ValueError):
    """The objectives are unknown, duplicated, too few or too many, or a cost is not a finite number >= 0."""


@dataclass(frozen=True)
class Objective:
    """A cost to minimise beside the error: ``function(spec) -> float`` (finite, >= 0; targets are compared to it
    by relative deviation, so it should be a positive quantity such as a latency or an energy).

    ``range`` is the ``(low, high)`` that normalises it to [0, 1]; ``None`` takes its values at the space's
    cheapest and most expensive genomes. ``bounded`` says that those two values bound every genome's (true of
    params and MAdds), so that a target outside them is refused at once rather than by the reachability walk.
    """

    name: str
    function: Callable[[NetworkSpec], float] = field(repr=False)
    range: tuple[float, float] | None = None
    bounded: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier() or self.name == ERROR:
            raise ObjectiveError(f"objective name: a word other than 'error', got {self.name!r}")
        if not callable(self.function):
            raise ObjectiveError(f"objective {self.name}: function must be callable on a NetworkSpec")
        if self.range is not None and not (len(self.range) == 2 and self.range[0] < self.range[1]):
            raise ObjectiveError(f"objective {self.name}: range must be (low, high) with low < high, got {self.range}")

    def __call__(self, spec: NetworkSpec) -> float:
        value = float(self.function(spec))
        if not (math.isfinite(value) and value >= 0):
            raise ObjectiveError(f"objective {self.name}: {value} for {spec.name}; a cost must be a finite number >= 0")
        return value


PARAMS = Objective("params", lambda spec: count_spec(spec)[0], bounded=True)
MADDS = Objective("madds", lambda spec: count_spec(spec)[1], bounded=True)


def latency_objective(table) -> Objective:
    """Latency in milliseconds from a :class:`~muxnet.profiling.latency.LatencyTable` (sum of its blocks)."""
    return Objective("latency", table.network)


def parse_objectives(text: str | Sequence[str], custom: Sequence[str] = ()) -> tuple[str, ...]:
    """``"error,params,latency"`` -> ``("error", "params", "latency")``: error first, then the costs in the
    order given. Refused in one line: an unknown name, a repeated one, fewer than two or more than three, or no
    error."""
    names = [n.strip().lower() for n in (text.split(",") if isinstance(text, str) else text)]
    names = [n for n in names if n]
    known = (ERROR, *BUILTIN_COSTS, *(c for c in custom if c not in BUILTIN_COSTS))
    choices = f"choose two or three of {', '.join(known)}, error among them (e.g. 'error,params,latency')"
    for name in names:
        if name not in known:
            raise ObjectiveError(f"objectives: unknown objective {name!r}; {choices}")
        if names.count(name) > 1:
            raise ObjectiveError(f"objectives: {name} is given twice; {choices}")
    if not 2 <= len(names) <= 3:
        raise ObjectiveError(f"objectives: {len(names)} given ({','.join(names) or 'none'}); {choices}")
    if ERROR not in names:
        raise ObjectiveError(f"objectives: error is missing ({','.join(names)}); the search trades accuracy for "
                             f"cost; {choices}")
    return (ERROR, *(n for n in names if n != ERROR))


@dataclass(frozen=True)
class Complexity:
    """The costs of one genome: params and MAdds (always counted: archived and given to evaluators) and the
    values of the search's other cost objectives (``others``)."""

    params: int
    madds: int
    others: tuple[tuple[str, float], ...] = ()

    def value(self, name: str) -> float:
        if name == "params":
            return float(self.params)
        if name == "madds":
            return float(self.madds)
        return dict(self.others)[name]

    def vector(self, names: Sequence[str]) -> np.ndarray:
        return np.array([self.value(n) for n in names], dtype=float)


class ComplexityCache:
    """Costs per genome, computed once (params/MAdds from cached per-block counts: milliseconds once blocks
    repeat). ``objectives`` are the search's cost objectives, in order (default: params and MAdds)."""

    def __init__(self, space: SearchSpace, objectives: Sequence[Objective] = (PARAMS, MADDS)):
        self.space = space
        self.objectives = tuple(objectives)
        self.names = tuple(o.name for o in self.objectives)
        self._others = tuple(o for o in self.objectives if o.name not in ("params", "madds"))
        self._cache: dict[str, Complexity] = {}

    def __call__(self, genome: Sequence[int]) -> Complexity:
        key = genome_key(genome)
        if key not in self._cache:
            spec = self.space.decode(genome)
            params, madds = count_spec(spec)
            self._cache[key] = Complexity(params, madds, tuple((o.name, o(spec)) for o in self._others))
        return self._cache[key]

    def vector(self, genome: Sequence[int]) -> np.ndarray:
        """The search's cost values of ``genome``, in the order of :attr:`names`."""
        return self(genome).vector(self.names)

    def seed(self, key: str, params: int, madds: int, others: Mapping[str, float] | None = None) -> None:
        """Fill the cache from an archive row so that a resumed run does not profile (or time) again; a row
        without every cost objective is left to be computed."""
        others = dict(others or {})
        if all(o.name in others for o in self._others):
            self._cache[key] = Complexity(int(params), int(madds),
                                          tuple((o.name, float(others[o.name])) for o in self._others))


@dataclass(frozen=True)
class Normaliser:
    """Maps raw ``(error, cost_1, ...)`` to ``(error, cost_1_n, ...)`` with each cost scaled to [0, 1] over its
    range (error is already in [0, 1])."""

    names: tuple[str, ...]
    ranges: tuple[tuple[float, float], ...]
    bounded: tuple[bool, ...] = ()

    @classmethod
    def for_space(cls, space: SearchSpace, complexity: ComplexityCache | None = None) -> Normaliser:
        complexity = complexity or ComplexityCache(space)
        low, high = (complexity.vector(g) for g in space.extreme_genomes())
        ranges = []
        for objective, a, b in zip(complexity.objectives, low, high):
            if objective.range is not None:
                ranges.append(tuple(float(v) for v in objective.range))
                continue
            a, b = min(a, b), max(a, b)
            if not a < b:
                raise ObjectiveError(f"objective {objective.name}: {a:g} at both the cheapest and the most expensive "
                                     "genome; give the objective a range=(low, high) to normalise it")
            ranges.append((float(a), float(b)))
        return cls(complexity.names, tuple(ranges), tuple(o.bounded for o in complexity.objectives))

    @property
    def objectives(self) -> tuple[str, ...]:
        """Every objective's name, error first: the columns of the objective vectors."""
        return (ERROR, *self.names)

    def __call__(self, error: float, *costs: float) -> np.ndarray:
        return (np.array([error, *costs], dtype=float) - self.low) / self.span

    def normalise_many(self, raw: np.ndarray) -> np.ndarray:
        raw = np.atleast_2d(np.asarray(raw, dtype=float))
        if not raw.size:
            return np.zeros((0, len(self.objectives)))
        return (raw - np.asarray(self.low)) / np.asarray(self.span)

    def check_target(self, target: Target, index: int) -> np.ndarray:
        """The normalised target, or a :class:`TargetError` when it lies outside a bounded cost's range."""
        for name, (low, high), bounded in zip(self.names, self.ranges, self.bounded or (True,) * len(self.names)):
            value = target[name]
            if bounded and not low <= value <= high:
                raise TargetError(
                    f"targets[{index}] {target.label()}: {name}={format_value(name, value)} is outside the search "
                    f"space's reachable range {format_value(name, low)}..{format_value(name, high)}")
        return self(target.error, *(target[n] for n in self.names))

    @property
    def low(self) -> tuple[float, ...]:
        """Raw objectives = ``low + span * normalised`` (error is not rescaled)."""
        return (0.0, *(float(a) for a, _ in self.ranges))

    @property
    def span(self) -> tuple[float, ...]:
        return (1.0, *(float(b - a) for a, b in self.ranges))

    def to_dict(self) -> dict:
        return {"objectives": list(self.objectives), "ranges": {n: list(r) for n, r in zip(self.names, self.ranges)}}


__all__ = ["BUILTIN_COSTS", "DEFAULT_OBJECTIVES", "ERROR", "MADDS", "PARAMS", "Complexity", "ComplexityCache",
           "Normaliser", "Objective", "ObjectiveError", "latency_objective", "parse_objectives"]
