"""User targets -> reference directions -> PBI: the paper's reference-guided decomposition (section 4).

The three objectives are ``(error, params, MAdds)``; params and MAdds are normalised to [0, 1] over the
space's reachable range (:class:`~muxnet.search.objectives.Normaliser`) so that neither dominates the
aggregation. A user target such as ``params=1.8M,madds=66M`` (with error 0, i.e. accuracy 1) becomes the
direction from the ideal point ``z*`` to the normalised target; a few sub-problem weights are spread around
each direction so that the search returns a neighbourhood of every target, not a single point.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

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


def pbi(F: np.ndarray, weights: np.ndarray, ideal: np.ndarray, theta: float = 5.0) -> np.ndarray:
    """Penalty-based boundary intersection, ``g = d1 + theta * d2`` (paper eq. 2), row by row.

    ``d1 = |(F - z*) . w| / ||w||`` is the distance along the direction (convergence) and
    ``d2 = ||F - (z* + d1 w/||w||)||`` the distance from it (closeness to the user's preference).
    ``F`` and ``weights`` broadcast against each other: (n, m) with (n, m), (1, m) or (m,). Rows with a
    non-finite objective (a failed candidate) score +inf so that they never win a comparison.
    """
    F = np.atleast_2d(np.asarray(F, dtype=float))
    W = np.atleast_2d(np.asarray(weights, dtype=float))
    unit = W / np.linalg.norm(W, axis=1, keepdims=True)
    shifted = F - np.asarray(ideal, dtype=float)
    with np.errstate(invalid="ignore"):
        d1 = np.abs(np.sum(shifted * unit, axis=1))
        d2 = np.linalg.norm(shifted - d1[:, None] * unit, axis=1)
        value = d1 + theta * d2
    return np.where(np.isfinite(value), value, np.inf)


def reference_directions(normalised_targets: np.ndarray, per_target: int, spread: float = 0.05,
                         ideal: Sequence[float] = (0.0, 0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """Sub-problem weights: for each target, its own direction plus ``per_target - 1`` directions whose
    end points lie on a circle of radius ``spread`` around the target in the (params, MAdds) plane.

    Returns ``(weights, owner)`` where ``owner[i]`` is the index of the target sub-problem ``i`` serves.
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
    return np.array(weights), np.array(owner)


__all__ = ["OBJECTIVES", "Target", "TargetError", "format_targets", "parse_targets", "pbi",
           "reference_directions"]
