"""Scalarisations: how a sub-problem turns an objective vector into one number to minimise.

A scalarisation is a small object passed to the search algorithm, as pymoo passes ``decomposition=``; the
algorithm never knows which one it holds. Each is called as ``scalarization(F, weights, ideal)`` with the
objective vectors ``F``, each sub-problem's reference direction ``weights`` (from the ideal point ``z*`` to the
sub-problem's reference point, so ``ideal + weights`` is that point: the user's target for a target's own
sub-problem) and the ideal point ``z*``. Rows with a non-finite objective (a failed candidate) score +inf so that
they never win a comparison. New scalarisations register with :func:`register_scalarization`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from .registry import Registry


@runtime_checkable
class Scalarization(Protocol):
    """What the algorithms and the driver need from a scalarisation."""

    name: str

    def __call__(self, F: np.ndarray, weights: np.ndarray, ideal: np.ndarray) -> np.ndarray:
        """One value per row of ``F`` (lower is better); ``weights`` is (n, m), (1, m) or (m,)."""
        ...


SCALARIZATIONS = Registry("scalarization")
register_scalarization = SCALARIZATIONS.register  # class decorator: selectable by its name


def create_scalarization(name: str, **options) -> Scalarization:
    """The scalarisation registered as ``name``, made with ``options`` (e.g. ``theta`` for PBI)."""
    return SCALARIZATIONS.lookup(name)(**options)


@register_scalarization("pbi")
@dataclass(frozen=True)
class PBI:
    """Penalty-based boundary intersection, ``g = d1 + theta * d2`` (paper eq. 2; equal to pymoo's ``PBI``).

    ``d1 = |(F - z*) . w| / ||w||`` is the distance along the direction (convergence) and
    ``d2 = ||F - (z* + d1 w/||w||)||`` the distance from it (closeness to the user's preference).
    """

    theta: float = 5.0

    def __post_init__(self) -> None:
        if not self.theta >= 0:
            raise ValueError(f"theta: PBI's penalty must be >= 0, got {self.theta}")

    def __call__(self, F: np.ndarray, weights: np.ndarray, ideal: np.ndarray) -> np.ndarray:
        F = np.atleast_2d(np.asarray(F, dtype=float))
        W = np.atleast_2d(np.asarray(weights, dtype=float))
        unit = W / np.linalg.norm(W, axis=1, keepdims=True)
        shifted = F - np.asarray(ideal, dtype=float)
        with np.errstate(invalid="ignore"):
            d1 = np.abs(np.sum(shifted * unit, axis=1))
            d2 = np.linalg.norm(shifted - d1[:, None] * unit, axis=1)
            value = d1 + self.theta * d2
        return np.where(np.isfinite(value), value, np.inf)


# the paper's choice (section 4), the algorithms' default; frozen, so one instance serves everyone
DEFAULT_SCALARIZATION = PBI(theta=5.0)

__all__ = ["DEFAULT_SCALARIZATION", "PBI", "SCALARIZATIONS", "Scalarization", "create_scalarization",
           "register_scalarization"]
