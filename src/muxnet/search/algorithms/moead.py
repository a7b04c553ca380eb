"""MOEA/D (Zhang & Li 2007) over the reference-target sub-problems, in batches, with an explicit state.

pymoo's ``MOEAD`` is steady-state (one offspring evaluated at a time inside a generator) and is checkpointed
by pickling the whole algorithm. Architecture evaluations are minutes each and run in parallel, so this loop
makes one offspring per sub-problem per generation from the population of the previous generation (like
pymoo's ``ParallelMOEAD``), evaluates the batch together, then applies the replacements in a random order.
Everything needed to continue lives in :meth:`state_dict`. The scalarisation is passed in (pymoo's
``decomposition=``). The tests compare it with pymoo's MOEA/D on DTLZ2 with the same weights and PBI.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial.distance import cdist

from ..decomposition import SubProblems
from ..sampling import initial_members
from ..scalarization import DEFAULT_SCALARIZATION, Scalarization
from ._state import (
    decode_matrix,
    encode_matrix,
    genomes_to_lists,
    lists_to_genomes,
    restore_rng,
    rng_state,
)
from .base import Genome, check_state, register_algorithm

STATE_VERSION = 2  # 2: the genomes proposed so far (``seen``)


@register_algorithm("moead")
class MOEAD:
    """MOEA/D over fixed sub-problem ``weights`` (one population member per sub-problem).

    Args:
        space: anything with ``sample(rng)``, ``crossover(a, b, rng)`` and ``mutate(g, rng)`` on tuples of ints.
        weights: (n_subproblems, n_objectives) reference directions.
        n_neighbors: size ``T`` of each sub-problem's neighbourhood (itself included).
        scalarization: how a sub-problem scores an objective vector (default: PBI with theta 5).
        ideal: a fixed ideal point ``z*``; ``None`` tracks the best value seen per objective instead.
        prob_neighbor_mating: probability ``delta`` of choosing parents from the neighbourhood rather than
            the whole population.
        budget: genomes to propose in all; MOEA/D proposes whole generations and stops at the last one that
            fits (``None``: never done, the caller stops).
        n_replace: the most sub-problems one child may take over (``n_r`` of Li & Zhang 2009); ``None``: every
            neighbour it improves, as in the original MOEA/D and pymoo. A limit keeps one lucky child from
            filling a whole neighbourhood, after which parents are identical and crossover only copies them.
        avoid_duplicates: re-mutate (one more gene at a time) a child that MOEA/D has proposed before, so that
            the budget buys new models: the driver never evaluates a genome twice but counts every proposal.
    """


    def __init__(self, space, weights: np.ndarray, n_neighbors: int = 10,
                 scalarization: Scalarization = DEFAULT_SCALARIZATION, ideal: Sequence[float] | None = None,
                 prob_neighbor_mating: float = 0.9, seed: int = 0, budget: int | None = None,
                 n_replace: int | None = None, avoid_duplicates: bool = False):
        self.space = space
        self.weights = np.asarray(weights, dtype=float)
        n = len(self.weights)
        if n < 2:
            raise ValueError(f"MOEA/D needs at least 2 sub-problems, got {n}")
        self.n_neighbors = max(2, min(int(n_neighbors), n))
        self.neighbors = np.argsort(cdist(self.weights, self.weights), axis=1, kind="stable")[:, :self.n_neighbors]
        self.scalarization = scalarization
        self.budget = budget
        self.fixed_ideal = None if ideal is None else np.asarray(ideal, dtype=float)
        self.ideal = self.fixed_ideal
        self.prob_neighbor_mating = prob_neighbor_mating
        if n_replace is not None and n_replace < 1:
            raise ValueError(f"n_replace must be at least 1 (or None for no limit), got {n_replace}")
        self.n_replace = n_replace
        self.avoid_duplicates = avoid_duplicates
        self.seen: set[tuple[int, ...]] = set()
        self.rng = np.random.default_rng(seed)
        self.population: list[tuple[int, ...]] | None = None
        self.F: np.ndarray | None = None
        self.generation = 0
        self._order: list[int] | None = None

    @classmethod
    def from_subproblems(cls, space, subproblems: SubProblems, scalarization: Scalarization, budget: int,
                         seed: int) -> MOEAD:
        """One neighbourhood per target: each sub-problem mates and replaces among as many nearest
        sub-problems as one target has; a child replaces at most two of them, and never repeats a proposal
        (``benchmarks/bench_search.py`` measured both against the unlimited, duplicate-proposing variant)."""
        per_target = len(subproblems) // max(1, subproblems.n_targets)
        return cls(space, subproblems.weights, n_neighbors=per_target, scalarization=scalarization,
                   ideal=subproblems.ideal, seed=seed, budget=budget, n_replace=2, avoid_duplicates=True)

    @property
    def pop_size(self) -> int:
        return len(self.weights)

    @property
    def proposed(self) -> int:
        return self.generation * self.pop_size

    @property
    def done(self) -> bool:
        return self.budget is not None and self.proposed + self.pop_size > self.budget

    # -- the loop -------------------------------------------------------------------------------------------------
    def ask(self) -> list[Genome]:
        """Generation 0: one member per sub-problem, near its reference point where the space can aim
        (:func:`~muxnet.search.sampling.initial_members`); afterwards one child per sub-problem, in a random
        order."""
        if self.population is None:
            members = initial_members(self.space, self._ideal_point() + self.weights, self.rng)
            self.seen.update(members)
            return members
        order = self.rng.permutation(self.pop_size)
        children = []
        for k in order:
            child = self._offspring(int(k))
            if self.avoid_duplicates:
                child = self._unseen(child)
            self.seen.add(child)
            children.append(child)
        self._order = [int(k) for k in order]
        return children

    def _offspring(self, k: int) -> tuple[int, ...]:
        """Sub-problem ``k``'s child: uniform crossover of two parents from its neighbourhood (or, with
        probability ``1 - delta``, the whole population), then mutation."""
        pool = self.neighbors[k] if self.rng.random() < self.prob_neighbor_mating else np.arange(self.pop_size)
        a, b = self.rng.choice(pool, 2, replace=False)
        child = self.space.crossover(self.population[a], self.population[b], self.rng)
        return tuple(self.space.mutate(child, self.rng))

    def _unseen(self, child: tuple[int, ...], tries: int = 20) -> tuple[int, ...]:
        """``child``, or a mutant of it (one gene more per try) that MOEA/D has not proposed yet; after
        ``tries`` the last mutant, seen or not (a nearly exhausted space)."""
        for _ in range(tries):
            if child not in self.seen:
                return child
            child = tuple(self.space.mutate_one(child, self.rng))
        return child

    def tell(self, genomes: Sequence[Sequence[int]], F: np.ndarray) -> None:
        F = np.asarray(F, dtype=float).reshape(len(genomes), -1)
        if self.population is None:
            self.population = [tuple(int(v) for v in g) for g in genomes]
            self.F = F.copy()
            self._update_ideal(F)
        else:
            if self._order is None or len(self._order) != len(genomes):
                raise RuntimeError("tell() must follow ask() with the genomes ask() returned")
            for k, child, f in zip(self._order, genomes, F):
                self._update_ideal(f[None])
                self._replace(k, tuple(int(v) for v in child), f)
        self._order = None
        self.generation += 1

    def _update_ideal(self, F: np.ndarray) -> None:
        if self.fixed_ideal is not None:
            return
        finite = np.where(np.isfinite(F), F, np.inf)
        low = finite.min(axis=0)
        self.ideal = low if self.ideal is None else np.minimum(self.ideal, low)

    def _ideal_point(self) -> np.ndarray:
        ideal = self.ideal if self.ideal is not None else np.zeros(self.weights.shape[1])
        return np.where(np.isfinite(ideal), ideal, 0.0)

    def _replace(self, k: int, child: tuple[int, ...], f: np.ndarray) -> None:
        if not np.all(np.isfinite(f)):
            return
        hood = self.neighbors[k]
        ideal = self._ideal_point()
        current = self.scalarization(self.F[hood], self.weights[hood], ideal)
        offspring = self.scalarization(np.repeat(f[None], len(hood), axis=0), self.weights[hood], ideal)
        improved = hood[offspring < current]
        if self.n_replace is not None and len(improved) > self.n_replace:
            improved = self.rng.permutation(improved)[:self.n_replace]  # a random n_r of those it improves
        for i in improved:
            self.population[i] = child
            self.F[i] = f

    # -- results --------------------------------------------------------------------------------------------------
    def scalarised(self) -> np.ndarray:
        """Each sub-problem's scalarised value of its current member."""
        return self.scalarization(self.F, self.weights, self._ideal_point())

    def best(self) -> list[tuple[Genome, float] | None]:
        if self.population is None:
            return [None] * self.pop_size
        return [(genome, float(value)) for genome, value in zip(self.population, self.scalarised())]

    # -- state ------------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"version": STATE_VERSION, "algorithm": self.name, "generation": self.generation,
                "rng": rng_state(self.rng), "population": genomes_to_lists(self.population),
                "F": encode_matrix(self.F),
                "ideal": None if self.ideal is None else [float(v) for v in self.ideal],
                "seen": genomes_to_lists(sorted(self.seen))}

    def load_state_dict(self, state: dict) -> None:
        check_state(state, self.name, STATE_VERSION)
        self.generation = int(state["generation"])
        self.rng = restore_rng(state["rng"])
        self.population = lists_to_genomes(state["population"])
        self.F = decode_matrix(state["F"])
        if self.population is not None and len(self.population) != self.pop_size:
            raise ValueError(f"state: population of {len(self.population)} does not match {self.pop_size} "
                             "sub-problems")
        self.ideal = self.fixed_ideal if state["ideal"] is None else np.asarray(state["ideal"], dtype=float)
        self.seen = set(lists_to_genomes(state["seen"]))
        self._order = None


__all__ = ["MOEAD"]
