"""User targets -> sub-problems (reference directions): the paper's reference-guided decomposition (section 4).

The three objectives are ``(error, params, MAdds)``; params and MAdds are normalised to [0, 1] over the
space's reachable range (:class:`~muxnet.search.objectives.Normaliser`) so that neither dominates the
aggregation. A user target such as ``params=1.8M,madds=66M`` (with error 0, i.e. accuracy 1) becomes the
direction from the ideal point ``z*`` to the normalised target; a few sub-problem weights are spread around
each direction so that the search returns a neighbourhood of every target, not a single point. How a
sub-problem scores a candidate is the scalarisation's job (:mod:`muxnet.search.scalarization`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

OBJECTIVES = ("error", "params", "madds")
_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "b": 1e9}
_NUMBER = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*([kmgb]?)\s*$", re.IGNORECASE)


class TargetError(ValueError):
    """A target is malformed, negative or outside what the search space can reach."""


@dataclass(frozen=True)
class Target:
    """A user preference in raw units: error in [0, 1], params and MAdds as counts."""

    params: float
    madds: float
    error: float = 0.0

    def label(self) -> str:
        return f"params={self.params / 1e6:.3g}M,madds={self.madds / 1e6:.3g}M"

    def vector(self) -> np.ndarray:
        return np.array([self.error, self.params, self.madds], dtype=float)


def _parse_number(text: str, where: str) -> float:
    match = _NUMBER.match(text)
    if not match:
        raise TargetError(f"{where}: {text!r} is not a number like 1.8M, 66M, 250k or 0.1")
    return float(match.group(1)) * _SUFFIX[match.group(2).lower()]


def parse_targets(text: str) -> list[Target]:
    """``"params=1.8M,madds=66M;params=2.4M,madds=117M"`` -> targets (``error=`` optional, default 0).

    Negative values are refused by the grammar (a leading '-' is not a number here).
    """
    if not isinstance(text, str) or not text.strip():
        raise TargetError("targets: give at least one target like 'params=1.8M,madds=66M'")
    targets = []
    for t, chunk in enumerate(c for c in text.split(";") if c.strip()):
        where = f"targets[{t}] {chunk.strip()!r}"
        values: dict[str, float] = {}
        for item in chunk.split(","):
            if "=" not in item:
                raise TargetError(f"{where}: expected name=value pairs separated by ',', got {item.strip()!r}")
            name, value = item.split("=", 1)
            name, value = name.strip().lower(), value.strip()
            if name not in OBJECTIVES:
                raise TargetError(f"{where}: unknown objective {name!r}; use {', '.join(OBJECTIVES)}")
            if name in values:
                raise TargetError(f"{where}: {name} is given twice")
            if value.startswith("-"):
                raise TargetError(f"{where}: {name} must not be negative, got {value}")
            values[name] = _parse_number(value, f"{where}.{name}")
        missing = [n for n in ("params", "madds") if n not in values]
        if missing:
            raise TargetError(f"{where}: missing {', '.join(missing)}")
        if not 0.0 <= values.get("error", 0.0) < 1.0:
            raise TargetError(f"{where}: error must be in [0, 1), got {values['error']}")
        targets.append(Target(values["params"], values["madds"], values.get("error", 0.0)))
    return targets


def format_targets(targets: Sequence[Target]) -> str:
    return ";".join(f"params={t.params:g},madds={t.madds:g},error={t.error:g}" for t in targets)


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
                         ideal: Sequence[float] = (0.0, 0.0, 0.0)) -> SubProblems:
    """Sub-problems: for each target, its own direction plus ``per_target - 1`` directions whose end points
    lie on a circle of radius ``spread`` around the target in the (params, MAdds) plane, all from the fixed
    ideal point ``ideal``.

    The pattern is deterministic, so a resumed search rebuilds exactly the same sub-problems.
    """
    if per_target < 1:
        raise ValueError(f"per_target must be at least 1, got {per_target}")
    targets = np.atleast_2d(np.asarray(normalised_targets, dtype=float))
    ideal = np.asarray(ideal, dtype=float)
    weights, owner = [], []
    ring = per_target - 1
    for t, target in enumerate(targets):
        for j in range(per_target):
            point = target.copy()
            if j:
                angle = 2 * np.pi * (j - 1) / ring
                point[1:] += spread * np.array([np.cos(angle), np.sin(angle)])
            w = np.maximum(point - ideal, 0.0)
            if not np.any(w > 0):
                w = np.full_like(w, 1e-6)
            weights.append(w)
            owner.append(t)
    return SubProblems(np.array(weights), np.array(owner), ideal)


__all__ = ["OBJECTIVES", "SubProblems", "Target", "TargetError", "format_targets", "parse_targets",
           "reference_directions"]
