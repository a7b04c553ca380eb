"""Regularized (aging) evolution (Real et al. 2019), the baseline of the paper's Fig. 9.

RE optimises one scalar fitness, here the PBI value for one target's reference direction. As in the paper's
comparison, the budget is split across the targets and one RE runs per target, one after the other
(:class:`MultiTargetRegularizedEvolution`), with the same ask/tell/state interface and budget accounting
(proposed models) as :class:`~muxnet.search.algorithms.moead.MOEAD`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from ..decomposition import pbi
from ._state import decode_matrix, encode_matrix, genomes_to_lists, lists_to_genomes, restore_rng, rng_state

STATE_VERSION = 1


class RegularizedEvolution:
    """Aging evolution for one direction ``weight``: tournament of ``sample_size``, one-gene mutation,
    the oldest member dies. ``ask`` proposes ``batch_size`` children from the current population."""

    def __init__(self, space, weight: Sequence[float], ideal: Sequence[float], population_size: int = 20,
                 sample_size: int = 5, batch_size: int = 1, theta: float = 5.0, seed: int = 0):
        if sample_size > population_size:
            raise ValueError(f"sample_size {sample_size} exceeds population_size {population_size}")
        self.space = space
        self.weight = np.asarray(weight, dtype=float)
        self.ideal = np.asarray(ideal, dtype=float)
        self.population_size = population_size
        self.sample_size = sample_size
        self.batch_size = batch_size
        self.theta = theta
        self.rng = np.random.default_rng(seed)
        self.population: deque[tuple[tuple[int, ...], np.ndarray]] = deque()
        self.proposed = 0

    def fitness(self, F: np.ndarray) -> np.ndarray:
        return pbi(F, self.weight, self.ideal, self.theta)

    def ask(self, n: int | None = None) -> list[tuple[int, ...]]:
        n = self.batch_size if n is None else n
        missing = self.population_size - len(self.population)
        if missing > 0:  # initial random population, proposed in batches like the rest
            return [tuple(self.space.sample(self.rng)) for _ in range(min(n, missing))]
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


class MultiTargetRegularizedEvolution:
    """One :class:`RegularizedEvolution` per target, run in turn, each with ``budget // n_targets`` proposals."""

    name = "re"

    def __init__(self, space, target_weights: np.ndarray, ideal: Sequence[float], budget: int,
                 population_size: int = 20, sample_size: int = 5, batch_size: int = 10, theta: float = 5.0,
                 seed: int = 0):
        target_weights = np.atleast_2d(np.asarray(target_weights, dtype=float))
        self.budgets = [budget // len(target_weights)] * len(target_weights)
        self.budgets[0] += budget - sum(self.budgets)
        population_size = min(population_size, min(self.budgets))
        sample_size = min(sample_size, population_size)
        self.runs = [RegularizedEvolution(space, w, ideal, population_size, sample_size, batch_size, theta,
                                          seed=seed * 1000 + t) for t, w in enumerate(target_weights)]
        self.generation = 0

    @property
    def active(self) -> int | None:
        for t, (run, budget) in enumerate(zip(self.runs, self.budgets)):
            if run.proposed < budget:
                return t
        return None

    @property
    def done(self) -> bool:
        return self.active is None

    def ask(self) -> list[tuple[int, ...]]:
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

    def best(self, t: int) -> tuple[tuple[int, ...], float] | None:
        members = list(self.runs[t].population)
        if not members:
            return None
        scores = self.runs[t].fitness(np.stack([f for _, f in members]))
        i = int(np.argmin(scores))
        return members[i][0], float(scores[i])

    def state_dict(self) -> dict:
        return {"version": STATE_VERSION, "algorithm": self.name, "generation": self.generation,
                "budgets": self.budgets, "runs": [r.state_dict() for r in self.runs]}

    def load_state_dict(self, state: dict) -> None:
        if state.get("algorithm") != self.name or state.get("version") != STATE_VERSION:
            raise ValueError(f"state: expected {self.name} state version {STATE_VERSION}, got "
                             f"{state.get('algorithm')!r} version {state.get('version')!r}")
        if list(state["budgets"]) != self.budgets or len(state["runs"]) != len(self.runs):
            raise ValueError("state: the budget split or the number of targets differs from this configuration")
        self.generation = int(state["generation"])
        for run, run_state in zip(self.runs, state["runs"]):
            run.load_state_dict(run_state)


__all__ = ["MultiTargetRegularizedEvolution", "RegularizedEvolution"]
