"""The protocol every search algorithm implements, and the registry the driver builds them from.

The driver only talks to this protocol: it asks for genomes, evaluates them, tells the normalised objective
vectors back (a failed candidate is a row of ``inf``), stops when the algorithm is ``done`` and saves
``state_dict()`` after every ``tell``. It never branches on an algorithm's name: an algorithm registers a class
whose :meth:`SearchAlgorithm.from_subproblems` builds it from the sub-problems, the scalarisation and the
budget (models proposed).

Two optional attributes, read with ``getattr`` where an algorithm has them: ``screened`` (genome -> a dict
with ``predicted_error`` and what else the archive should keep about why the genome was proposed, for the
genomes of the last ``ask``; the surrogate-assisted MOEA/D's predictions) and ``progress_note`` (a few words
for the progress line, e.g. the predictor's current tau).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from ..decomposition import SubProblems
from ..registry import Registry
from ..scalarization import Scalarization

Genome = tuple[int, ...]


@runtime_checkable
class SearchAlgorithm(Protocol):
    """Ask/tell with an explicit, JSON-serialisable state (its random generator included, so that a resumed
    search proposes exactly the genomes the uninterrupted one would have)."""

    name: str
    generation: int  # completed ask/tell rounds

    @classmethod
    def from_subproblems(cls, space, subproblems: SubProblems, scalarization: Scalarization, budget: int,
                         seed: int) -> SearchAlgorithm:
        """The algorithm for these sub-problems, proposing at most ``budget`` genomes in all."""
        ...

    @property
    def proposed(self) -> int:
        """Genomes proposed so far (the unit of the budget)."""
        ...

    @property
    def done(self) -> bool:
        """The budget is spent: ``ask`` has nothing more to propose."""
        ...

    def ask(self) -> list[Genome]:
        ...

    def tell(self, genomes: Sequence[Sequence[int]], F: np.ndarray) -> None:
        ...

    def best(self) -> list[tuple[Genome, float] | None]:
        """For each sub-problem the algorithm holds, its best genome and scalarised value (``None``: none yet)."""
        ...

    def state_dict(self) -> dict:
        ...

    def load_state_dict(self, state: dict) -> None:
        ...


ALGORITHMS = Registry("algorithm")
register_algorithm = ALGORITHMS.register  # class decorator: available to the driver and --algorithm as its name


def create_algorithm(name: str, space, subproblems: SubProblems, scalarization: Scalarization, budget: int,
                     seed: int) -> SearchAlgorithm:
    return ALGORITHMS.lookup(name).from_subproblems(space, subproblems, scalarization, budget, seed)


def check_state(state: dict, name: str, version: int) -> None:
    """Refuse a state written by another algorithm or another state version, naming both."""
    if state.get("algorithm") != name or state.get("version") != version:
        raise ValueError(f"state: expected {name} state version {version}, got "
                         f"{state.get('algorithm')!r} version {state.get('version')!r}")


__all__ = ["ALGORITHMS", "Genome", "SearchAlgorithm", "check_state", "create_algorithm", "register_algorithm"]
