"""Scalarisations: how a sub-problem turns an objective vector into one number to minimise.

A scalarisation is a small object passed to the search algorithm, as pymoo passes ``decomposition=``; the
algorithm never knows which one it holds. Each is called as ``scalarization(F, weights, ideal)`` with the
objective vectors ``F``, each sub-problem's reference direction ``weights`` (from the ideal point ``z*`` to the
sub-problem's reference point, so ``ideal + weights`` is that point: the user's target for a target's own
sub-problem) and the ideal point ``z*``. Rows with a non-finite objective (a failed candidate) score +inf so that
they never win a comparison. New scalarisations register with :func:`register_scalarization`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from pymoo.decomposition.aasf import AASF

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
    """The scalarisation registered as ``name``, made with those of ``options`` it declares (``theta`` for PBI;
    ``rho``, ``tolerance``, ``error_scale``, ``low``/``span`` for the ASF), so that the caller can offer every
    setting without knowing which scalarisation it builds."""
    cls = SCALARIZATIONS.lookup(name)
    known = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set(options)
    return cls(**{k: v for k, v in options.items() if k in known})


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


@register_scalarization("asf")
@dataclass(frozen=True)
class TargetASF:
    """Augmented achievement scalarising function (Wierzbicki 1980) with the sub-problem's reference point as
    the aspiration point: ``g = max_i t_i + rho * sum_i t_i`` over

    * ``t_0 = (error - error_aspired) / error_scale`` (one-sided: lower error is better; the error's own scale,
      by default its whole range [0, 1]) and
    * ``t_i = max(|c_i / c_aspired_i - 1| - band, 0) / (tolerance - band)`` for the costs (two-sided relative
      deviation: a user who asks for 1.5M params wants a model of about 1.5M, not a smaller one; a deviation
      within ``band`` costs nothing, so among the models that close to the target the most accurate wins, and
      ``tolerance`` is still worth one unit); with ``at_most`` one-sided, ``max(c_i / c_aspired_i - 1, 0)``:
      the target is a budget, and a model under it is not penalised for being smaller.

    The max/sum is pymoo's ``AASF`` on these terms (utopian point 0, weights ``(error_scale, tolerance, ...)``).
    With ``error_scale = 1`` the error term never exceeds 1 while a deviation beyond ``tolerance`` exceeds 1, so
    the winner is within ``tolerance`` of the reference point whenever any candidate is; inside that band it
    trades ``tolerance - band`` of relative deviation beyond ``band`` for ``error_scale`` of error.
    ``low + span * F`` turns the driver's normalised objectives back into raw counts (the deviations are
    relative to the raw target).
    """

    rho: float = 1e-2
    tolerance: float = 0.2
    error_scale: float = 1.0
    band: float = 0.05
    low: tuple[float, ...] | None = None
    span: tuple[float, ...] | None = None
    # a target as a budget ("at most"): only the relative excess over it counts, so a model as accurate and
    # smaller than the target scores as well as one on it (Pareto-compliant); the default reads it as "about"
    at_most: bool = False

    def __post_init__(self) -> None:
        for name in ("tolerance", "error_scale"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: the ASF's scale must be > 0, got {getattr(self, name)}")
        if not 0 <= self.band < self.tolerance:
            raise ValueError(f"band: the ASF's free deviation must be in [0, tolerance={self.tolerance}), "
                             f"got {self.band}")
        if not self.rho >= 0:
            raise ValueError(f"rho: the ASF's augmentation must be >= 0, got {self.rho}")

    def terms(self, F: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """The scaled achievement terms ``t`` (n, m) of ``F`` against the reference points (both normalised)."""
        low = np.zeros(F.shape[1]) if self.low is None else np.asarray(self.low, dtype=float)
        span = np.ones(F.shape[1]) if self.span is None else np.asarray(self.span, dtype=float)
        raw, aspired = low + span * F, low + span * reference
        t = np.empty_like(raw)
        t[:, 0] = (raw[:, 0] - aspired[:, 0]) / self.error_scale
        deviation = raw[:, 1:] / np.maximum(aspired[:, 1:], 1e-12) - 1.0
        deviation = np.maximum(deviation, 0.0) if self.at_most else np.abs(deviation)
        t[:, 1:] = np.maximum(deviation - self.band, 0.0) / (self.tolerance - self.band)
        return t

    def __call__(self, F: np.ndarray, weights: np.ndarray, ideal: np.ndarray) -> np.ndarray:
        F = np.atleast_2d(np.asarray(F, dtype=float))
        reference = np.asarray(ideal, dtype=float) + np.atleast_2d(np.asarray(weights, dtype=float))
        shape = np.broadcast_shapes(F.shape, reference.shape)
        F, reference = np.broadcast_to(F, shape), np.broadcast_to(reference, shape)
        with np.errstate(invalid="ignore"):
            t = self.terms(F, reference)
            value = AASF(rho=self.rho).do(t, weights=np.ones(t.shape[1]), utopian_point=np.zeros(t.shape[1]))
        value = np.asarray(value, dtype=float).reshape(len(F))
        return np.where(np.isfinite(value), value, np.inf)


# the paper's choice (section 4) where no other is given; frozen, so one instance serves everyone
DEFAULT_SCALARIZATION = PBI(theta=5.0)

__all__ = ["DEFAULT_SCALARIZATION", "PBI", "TargetASF", "SCALARIZATIONS", "Scalarization", "create_scalarization",
           "register_scalarization"]
