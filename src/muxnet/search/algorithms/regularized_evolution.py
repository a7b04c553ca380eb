"""Regularized (aging) evolution (Real et al. 2019), the baseline of the paper's Fig. 9.

RE optimises one scalar fitness, here the scalarised value (e.g. PBI) for one target's reference direction.
As in the paper's comparison, the budget is split across the targets and one RE runs per target, one after
the other (:class:`MultiTargetRegularizedEvolution`), behind the same protocol and budget accounting (proposed
models) as :class:`~muxnet.search.algorithms.moead.MOEAD`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from ..decomposition import SubProblems
from ..sampling import initial_members
from ..scalarization import DEFAULT_SCALARIZATION, Scalarization
from ._state import decode_matrix, encode_matrix, genomes_to_lists, lists_to_genomes, restore_rng, rng_state
from .base import Genome, check_state, register_algorithm

STATE_VERSION = 1


class RegularizedEvolution:
    """Aging evolution for one direction ``weight``: tournament of ``sample_size``, one-gene mutation,
    the oldest member dies. ``ask`` proposes ``batch_size`` children from the current population."""

    def __init__(self, space, weight: Sequence[float], ideal: Sequence[float], population_size: int = 20,
                 sample_size: int = 5, batch_size: int = 1, scalarization: Scalarization = DEFAULT_SCALARIZATION,
                 seed: int = 0):
        if sample_size > population_size:
            raise ValueError(f"sample_size {sample_size} exceeds population_size {population_size}")
        self.space = space
        self.weight = np.asarray(weight, dtype=float)
        self.ideal = np.asarray(ideal, dtype=float)
        self.population_size = population_size
        self.sample_size = sample_size
        self.batch_size = batch_size
        self.scalarization = scalarization
        self.rng = np.random.default_rng(seed)
        self.population: deque[tuple[tuple[int, ...], np.ndarray]] = deque()
        self.proposed = 0

    def fitness(self, F: np.ndarray) -> np.ndarray:
        return self.scalarization(F, self.weight, self.ideal)

    def ask(self, n: int | None = None) -> list[Genome]:
        n = self.batch_size if n is None else n
        missing = self.population_size - len(self.population)
        if missing > 0:  # initial population near the reference point, proposed in batches like the rest
            reference = self.ideal + self.weight
            return initial_members(self.space, np.repeat(reference[None], min(n, missing), axis=0), self.rng)
        members = list(self.population)
        F = np.stack([f for _, f in members])
        scores = self.fitness(F)
        children = []
        for _ in range(n):
            contenders = self.rng.choice(len(members), self.sample_size, replace=False)
            parent = members[int(contenders[np.argmin(scores[contenders])])][0]
            children.append(tuple(self.space.mutate_one(parent, self.rng)))
        return children

    def tell(self, genomes: Sequence[Sequence[int]], F: np.ndarray) -> None:
        F = np.asarray(F, dtype=float).reshape(len(genomes), -1)
        for g, f in zip(genomes, F):
            self.population.append((tuple(int(v) for v in g), f))
            if len(self.population) > self.population_size:
                self.population.popleft()
        self.proposed += len(genomes)

    def best(self) -> tuple[Genome, float] | None:
        """The best member of the current population and its fitness."""
        if not self.population:
            return None
        scores = self.fitness(np.stack([f for _, f in self.population]))
        i = int(np.argmin(scores))
        return self.population[i][0], float(scores[i])

    def state_dict(self) -> dict:
        return {"rng": rng_state(self.rng), "proposed": self.proposed,
                "population": genomes_to_lists([g for g, _ in self.population]),
                "F": encode_matrix(np.stack([f for _, f in self.population]) if self.population else None)}

    def load_state_dict(self, state: dict) -> None:
        self.rng = restore_rng(state["rng"])
        self.proposed = int(state["proposed"])
        genomes = lists_to_genomes(state["population"]) or []
        F = decode_matrix(state["F"])
        self.population = deque(zip(genomes, F if F is not None else []))


@register_algorithm("re")
class MultiTargetRegularizedEvolution:
    """One :class:`RegularizedEvolution` per target, run in turn, each with ``budget // n_targets`` proposals."""


    def __init__(self, space, target_weights: np.ndarray, ideal: Sequence[float], budget: int,
                 population_size: int = 20, sample_size: int = 5, batch_size: int = 10,
                 scalarization: Scalarization = DEFAULT_SCALARIZATION, seed: int = 0):
        target_weights = np.atleast_2d(np.asarray(target_weights, dtype=float))
        self.budgets = [budget // len(target_weights)] * len(target_weights)
        self.budgets[0] += budget - sum(self.budgets)
        population_size = min(population_size, min(self.budgets))
        sample_size = min(sample_size, population_size)
        self.runs = [RegularizedEvolution(space, w, ideal, population_size, sample_size, batch_size, scalarization,
                                          seed=seed * 1000 + t) for t, w in enumerate(target_weights)]
        self.generation = 0

    @classmethod
    def from_subproblems(cls, space, subproblems: SubProblems, scalarization: Scalarization, budget: int,
                         seed: int) -> MultiTargetRegularizedEvolution:
        """One run per target on the target's own direction; a population of two sub-problems' worth per
        target, tournaments of half a target's sub-problems, batches of one target's sub-problems."""
        if subproblems.ideal is None:
            raise ValueError("regularized evolution scores every run against a fixed ideal point; got none")
        per_target = len(subproblems) // max(1, subproblems.n_targets)
        return cls(space, subproblems.target_weights(), subproblems.ideal, budget, population_size=per_target * 2,
                   sample_size=max(2, per_target // 2), batch_size=per_target, scalarization=scalarization,
                   seed=seed)

    @property
    def proposed(self) -> int:
        return sum(run.proposed for run in self.runs)

    @property
    def active(self) -> int | None:
        for t, (run, budget) in enumerate(zip(self.runs, self.budgets)):
            if run.proposed < budget:
                return t
        return None

    @property
    def done(self) -> bool:
        return self.active is None

    def ask(self) -> list[Genome]:
        t = self.active
        if t is None:
            return []
        run = self.runs[t]
        return run.ask(min(run.batch_size, self.budgets[t] - run.proposed))

    def tell(self, genomes: Sequence[Sequence[int]], F: np.ndarray) -> None:
        t = self.active
        if t is None:
            raise RuntimeError("the budget is spent; nothing was asked")
        self.runs[t].tell(genomes, F)
        self.generation += 1

    def best(self) -> list[tuple[Genome, float] | None]:
        """Per target (this algorithm's sub-problems), the best member of its run's current population."""
        return [run.best() for run in self.runs]

    def state_dict(self) -> dict:
        return {"version": STATE_VERSION, "algorithm": self.name, "generation": self.generation,
                "budgets": self.budgets, "runs": [r.state_dict() for r in self.runs]}

    def load_state_dict(self, state: dict) -> None:
        check_state(state, self.name, STATE_VERSION)
        if list(state["budgets"]) != self.budgets or len(state["runs"]) != len(self.runs):
            raise ValueError("state: the budget split or the number of targets differs from this configuration")
        self.generation = int(state["generation"])
        for run, run_state in zip(self.runs, state["runs"]):
            run.load_state_dict(run_state)


__all__ = ["MultiTargetRegularizedEvolution", "RegularizedEvolution"]
