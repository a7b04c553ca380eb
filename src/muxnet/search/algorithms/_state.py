"""JSON-friendly encodings shared by the algorithms' state dicts."""

from __future__ import annotations

import numpy as np


def encode_matrix(F: np.ndarray | None) -> list | None:
    """Rows of floats with ``None`` for non-finite values (JSON has no inf)."""
    if F is None:
        return None
    return [[float(v) if np.isfinite(v) else None for v in row] for row in np.asarray(F, dtype=float)]


def decode_matrix(rows: list | None) -> np.ndarray | None:
    if rows is None:
        return None
    return np.array([[np.inf if v is None else float(v) for v in row] for row in rows], dtype=float).reshape(
        len(rows), -1)


def rng_state(rng: np.random.Generator) -> dict:
    return rng.bit_generator.state


def restore_rng(state: dict) -> np.random.Generator:
    name = state.get("bit_generator")
    if name != "PCG64":
        raise ValueError(f"state: expected a PCG64 random state, got {name!r}")
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = state
    return rng


def genomes_to_lists(genomes) -> list | None:
    return None if genomes is None else [list(map(int, g)) for g in genomes]


def lists_to_genomes(rows) -> list | None:
    return None if rows is None else [tuple(int(v) for v in g) for g in rows]
