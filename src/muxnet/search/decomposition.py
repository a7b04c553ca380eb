"""User targets -> sub-problems (reference directions): the paper's reference-guided decomposition (section 4).

The objectives are ``(error, params, MAdds)`` by default, or error and the costs ``--objectives`` names
(:mod:`muxnet.search.objectives`); each cost is normalised to [0, 1] over the space's range
(:class:`~muxnet.search.objectives.Normaliser`) so that none dominates the aggregation. A user target such as
``params=1.8M,madds=66M`` (with error 0, i.e. accuracy 1) becomes the direction from the ideal point ``z*`` to
the normalised target; a few sub-problem weights are spread around each direction so that the search returns a
neighbourhood of every target, not a single point. How a sub-problem scores a candidate is the scalarisation's
job (:mod:`muxnet.search.scalarization`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

OBJECTIVES = ("error", "params", "madds")  # the default objectives (--objectives chooses others)
_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "b": 1e9}
_NUMBER = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*([kmgb]?)\s*$", re.IGNORECASE)
_MILLISECONDS = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*(ms|us|s)?\s*$", re.IGNORECASE)
_TIME_UNIT = {None: 1.0, "ms": 1.0, "us": 1e-3, "s": 1e3}
_COUNTS = ("params", "madds")


class TargetError(ValueError):
    """A target is malformed, negative or outside what the search space can reach."""


def format_value(name: str, value: float) -> str:
    """A cost as targets write it: counts in millions (``1.8M``), latency in milliseconds (``3.2ms``)."""
    if name in _COUNTS:
        return f"{value / 1e6:.3g}M"
    if name == "latency":
        return f"{value:.3g}ms"
    return f"{value:.4g}"


@dataclass(frozen=True)
class Target:
    """A user preference in raw units: a value for each cost objective (params and MAdds as counts, latency in
    milliseconds, a custom cost in its own unit) and an error in [0, 1] (default 0, i.e. accuracy 1).

    ``Target({"params": 1.8e6, "madds": 66e6})``; ``target["params"]`` reads a value, ``target.costs`` keeps
    the order of the objectives.
    """

    costs: tuple[tuple[str, float], ...]
    error: float = 0.0

    def __post_init__(self) -> None:
        costs = self.costs.items() if isinstance(self.costs, Mapping) else self.costs
        object.__setattr__(self, "costs", tuple((str(n), float(v)) for n, v in costs))

    def __getitem__(self, name: str) -> float:
        for n, v in self.costs:
            if n == name:
                return v
        raise KeyError(f"the target {self.label()} has no {name}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.costs)

    def label(self) -> str:
        return ",".join(f"{n}={format_value(n, v)}" for n, v in self.costs)

    def vector(self) -> np.ndarray:
        return np.array([self.error, *(v for _, v in self.costs)], dtype=float)


def _parse_number(text: str, where: str) -> float:
    match = _NUMBER.match(text)
    if not match:
        raise TargetError(f"{where}: {text!r} is not a number like 1.8M, 66M, 250k or 0.1")
    return float(match.group(1)) * _SUFFIX[match.group(2).lower()]


def _parse_value(name: str, text: str, where: str) -> float:
    if name == "latency":  # milliseconds ('3.2', '3.2ms', '800us'); 'm' would otherwise read as mega
        match = _MILLISECONDS.match(text)
        if not match:
            raise TargetError(f"{where}: {text!r} is not a latency like 3.2ms, 800us or 3.2 (milliseconds)")
        return float(match.group(1)) * _TIME_UNIT[match.group(2) and match.group(2).lower()]
    return _parse_number(text, where)


def _example(costs: Sequence[str]) -> str:
    examples = {"params": "1M", "madds": "3.5M", "latency": "5ms"}
    return ",".join(f"{n}={examples.get(n, '1.0')}" for n in costs)


def parse_targets(text: str, objectives: Sequence[str] = OBJECTIVES) -> list[Target]:
    """``"params=1.8M,madds=66M;params=2.4M,madds=117M"`` -> targets: each names a value for every cost
    objective of ``objectives`` (``error=`` optional, default 0), and nothing else.

    Negative values are refused by the grammar (a leading '-' is not a number here).
    """
    costs = [n for n in objectives if n != "error"]
    shape = f"with objectives {','.join(objectives)} a target is like '{_example(costs)}'"
    if not isinstance(text, str) or not text.strip():
        raise TargetError(f"targets: give at least one target; {shape}")
    targets = []
    for t, chunk in enumerate(c for c in text.split(";") if c.strip()):
        where = f"targets[{t}] {chunk.strip()!r}"
        values: dict[str, float] = {}
        for item in chunk.split(","):
            if "=" not in item:
                raise TargetError(f"{where}: expected name=value pairs separated by ',', got {item.strip()!r}")
            name, value = item.split("=", 1)
            name, value = name.strip().lower(), value.strip()
            if name not in objectives:
                raise TargetError(f"{where}: {name!r} is not one of the objectives ({', '.join(objectives)}); "
                                  f"{shape}")
            if name in values:
                raise TargetError(f"{where}: {name} is given twice")
            if value.startswith("-"):
                raise TargetError(f"{where}: {name} must not be negative, got {value}")
            values[name] = _parse_value(name, value, f"{where}.{name}")
        missing = [n for n in costs if n not in values]
        if missing:
            raise TargetError(f"{where}: missing {', '.join(missing)}; {shape}")
        if not 0.0 <= values.get("error", 0.0) < 1.0:
            raise TargetError(f"{where}: error must be in [0, 1), got {values['error']}")
        zero = [n for n in costs if values[n] <= 0]
        if zero:
            raise TargetError(f"{where}: {zero[0]} must be above 0 (deviations from a target are relative)")
        targets.append(Target(tuple((n, values[n]) for n in costs), values.get("error", 0.0)))
    return targets


def format_targets(targets: Sequence[Target]) -> str:
    return ";".join(",".join([*(f"{n}={v:g}" for n, v in t.costs), f"error={t.error:g}"]) for t in targets)


@dataclass(frozen=True, eq=False)
class SubProblems:
    """What a search algorithm solves: one reference direction per sub-problem, the target each one serves
    (``owner``) and the ideal point ``z*`` (``None``: the algorithm tracks the best value seen instead)."""

    weights: np.ndarray
    owner: np.ndarray
    ideal: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        weights = np.atleast_2d(np.asarray(self.weights, dtype=float))
        owner = np.asarray(self.owner, dtype=np.int64)
        if owner.shape != (len(weights),):
            raise ValueError(f"owner: expected one target index per sub-problem ({len(weights)}), "
                             f"got shape {owner.shape}")
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "owner", owner)
        if self.ideal is not None:
            object.__setattr__(self, "ideal", np.asarray(self.ideal, dtype=float))

    def __len__(self) -> int:
        return len(self.weights)

    @property
    def n_targets(self) -> int:
        return int(self.owner.max()) + 1 if len(self.owner) else 0

    def of_target(self, target: int) -> np.ndarray:
        """Indices of the sub-problems that serve ``target``; the first is the target's own direction."""
        return np.flatnonzero(self.owner == target)

    def target_weights(self) -> np.ndarray:
        """Each target's own direction (n_targets, m)."""
        return np.stack([self.weights[self.of_target(t)[0]] for t in range(self.n_targets)])


def reference_directions(normalised_targets: np.ndarray, per_target: int, spread: float = 0.05,
                         ideal: Sequence[float] | None = None) -> SubProblems:
    """Sub-problems: for each target, its own direction plus ``per_target - 1`` directions whose end points
    lie on a circle of radius ``spread`` around the target in the plane of the first two costs (on a segment
    along the cost when there is one), all from the fixed ideal point ``ideal`` (default 0).

    The pattern is deterministic, so a resumed search rebuilds exactly the same sub-problems.
    """
    if per_target < 1:
        raise ValueError(f"per_target must be at least 1, got {per_target}")
    targets = np.atleast_2d(np.asarray(normalised_targets, dtype=float))
    ideal = np.zeros(targets.shape[1]) if ideal is None else np.asarray(ideal, dtype=float)
    plane = min(2, targets.shape[1] - 1)
    weights, owner = [], []
    ring = per_target - 1
    for t, target in enumerate(targets):
        for j in range(per_target):
            point = target.copy()
            if j:
                angle = 2 * np.pi * (j - 1) / ring
                point[1:1 + plane] += spread * np.array([np.cos(angle), np.sin(angle)])[:plane]
            w = np.maximum(point - ideal, 0.0)
            if not np.any(w > 0):
                w = np.full_like(w, 1e-6)
            weights.append(w)
            owner.append(t)
    return SubProblems(np.array(weights), np.array(owner), ideal)


__all__ = ["OBJECTIVES", "SubProblems", "Target", "TargetError", "format_targets", "format_value", "parse_targets",
           "reference_directions"]
