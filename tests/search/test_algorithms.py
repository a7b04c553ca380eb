import json

import numpy as np
import pytest
from pymoo.algorithms.moo.moead import MOEAD as PymooMOEAD
from pymoo.core.problem import Problem
from pymoo.decomposition.pbi import PBI as PymooPBI
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.repair.rounding import RoundingRepair
from pymoo.operators.sampling.rnd import IntegerRandomSampling
from pymoo.optimize import minimize
from pymoo.util.ref_dirs import get_reference_directions

from muxnet.search.algorithms import (
    ALGORITHMS,
    MOEAD,
    MultiTargetRegularizedEvolution,
    SearchAlgorithm,
    create_algorithm,
)
from muxnet.search.decomposition import reference_directions
from muxnet.search.scalarization import PBI

N_VAR, LEVELS = 7, 40
pbi = PBI(theta=5.0)


def dtlz2(X):
    x = np.asarray(X, dtype=float) / LEVELS
    g = np.sum((x[:, 2:] - 0.5) ** 2, axis=1)
    c = np.cos(x[:, :2] * np.pi / 2)
    s = np.sin(x[:, :2] * np.pi / 2)
    return np.stack([(1 + g) * c[:, 0] * c[:, 1], (1 + g) * c[:, 0] * s[:, 1], (1 + g) * s[:, 0]], axis=1)


class DiscreteDTLZ2(Problem):
    def __init__(self):
        super().__init__(n_var=N_VAR, n_obj=3, xl=0, xu=LEVELS, vtype=int)

    def _evaluate(self, X, out, *args, **kwargs):
        out["F"] = dtlz2(X)


class DTLZ2Costs:
    """DTLZ2's second and third objectives as the exact costs a surrogate-assisted search counts."""

    def vector(self, genome):
        return dtlz2([genome])[0, 1:]


class IntegerSpace:
    """The variation interface of SearchSpace on a plain integer box (with the bounds and exact costs that
    a surrogate-assisted search reads from the search's sampler)."""

    lower, upper = np.zeros(N_VAR, dtype=int), np.full(N_VAR, LEVELS)
    complexity, low, span = DTLZ2Costs(), np.zeros(3), np.ones(3)

    def sample(self, rng):
        return tuple(int(v) for v in rng.integers(0, LEVELS + 1, N_VAR))

    def crossover(self, a, b, rng):
        take = rng.random(N_VAR) < 0.5
        return tuple(y if t else x for x, y, t in zip(a, b, take))

    def mutate(self, g, rng):
        g = np.array(g)
        flip = rng.random(N_VAR) < 1.0 / N_VAR
        g[flip] = np.clip(g[flip] + rng.integers(-4, 5, flip.sum()), 0, LEVELS)
        return tuple(int(v) for v in g)

    def mutate_one(self, g, rng):
        g = list(g)
        i = int(rng.integers(N_VAR))
        g[i] = int((g[i] + rng.integers(1, LEVELS + 1)) % (LEVELS + 1))
        return tuple(g)

    def neighbours(self, g):
        return [tuple(g[:i]) + (v,) + tuple(g[i + 1:]) for i in range(N_VAR) for v in range(LEVELS + 1) if v != g[i]]


def run_ours(weights, generations, seed):
    algo = MOEAD(IntegerSpace(), weights, n_neighbors=10, scalarization=PBI(5.0), ideal=None, seed=seed)
    for _ in range(generations + 1):
        genomes = algo.ask()
        algo.tell(genomes, dtlz2(genomes))
    return algo


def test_moead_is_as_good_as_pymoo_on_dtlz2_with_the_same_weights_and_pbi():
    weights = get_reference_directions("das-dennis", 3, n_partitions=6)  # 28 sub-problems
    generations = 40
    ours, theirs = [], []
    for seed in (1, 2):
        algo = run_ours(weights, generations, seed)
        ours.append(np.mean(pbi(algo.F, weights, np.zeros(3))))
        result = minimize(DiscreteDTLZ2(), PymooMOEAD(
            weights, n_neighbors=10, decomposition=PymooPBI(theta=5), prob_neighbor_mating=0.9,
            sampling=IntegerRandomSampling(), crossover=SBX(prob=1.0, eta=20, vtype=float, repair=RoundingRepair()),
            mutation=PM(eta=20, vtype=float, repair=RoundingRepair())), ("n_gen", generations + 1), seed=seed)
        theirs.append(np.mean(pbi(result.pop.get("F"), weights, np.zeros(3))))
    random_F = dtlz2(np.random.default_rng(0).integers(0, LEVELS + 1, (len(weights), N_VAR)))
    random_score = np.mean(pbi(random_F, weights, np.zeros(3)))
    # the DTLZ2 front is the unit sphere: a converged sub-problem has PBI ~1
    assert np.mean(ours) < 1.3 and np.mean(ours) < 1.25 * np.mean(theirs)
    assert np.mean(ours) < 0.7 * random_score


def test_moead_state_round_trip_reproduces_the_next_generation():
    weights = get_reference_directions("das-dennis", 3, n_partitions=4)
    algo = run_ours(weights, 3, seed=5)
    state = json.loads(json.dumps(algo.state_dict()))  # must survive JSON
    clone = MOEAD(IntegerSpace(), weights, n_neighbors=10, scalarization=PBI(5.0), ideal=None, seed=999)
    clone.load_state_dict(state)
    assert clone.ask() == algo.ask()
    assert clone.generation == algo.generation == 4


def test_moead_ignores_failed_children():
    weights = get_reference_directions("das-dennis", 3, n_partitions=3)
    algo = run_ours(weights, 1, seed=0)
    before = list(algo.population)
    children = algo.ask()
    algo.tell(children, np.full((len(children), 3), np.inf))
    assert algo.population == before


def test_regularized_evolution_splits_the_budget_and_resumes():
    targets = np.array([[0.0, 0.5, 0.5], [0.0, 0.9, 0.2]])
    re = MultiTargetRegularizedEvolution(IntegerSpace(), targets, np.zeros(3), budget=61, population_size=10,
                                         sample_size=3, batch_size=4, seed=0)
    assert re.budgets == [31, 30]
    asked = 0
    while not re.done:
        genomes = re.ask()
        asked += len(genomes)
        re.tell(genomes, dtlz2(genomes))
        if asked == 24:
            state = json.loads(json.dumps(re.state_dict()))
            clone = MultiTargetRegularizedEvolution(IntegerSpace(), targets, np.zeros(3), budget=61,
                                                    population_size=10, sample_size=3, batch_size=4, seed=7)
            clone.load_state_dict(state)
            assert clone.ask() == re.ask()
    assert asked == 61
    for genome, score in re.best():
        assert score < 3.0 and len(genome) == N_VAR


def test_both_algorithms_speak_the_protocol_through_the_registry():
    """The driver's view: build by name, ask/tell until done within the budget, best per sub-problem, state."""
    subproblems = reference_directions(np.array([[0.0, 0.3, 0.3], [0.0, 0.8, 0.6]]), per_target=3)
    assert set(ALGORITHMS) == {"moead", "moead-surrogate", "re"}
    for name in ALGORITHMS:
        algo = create_algorithm(name, IntegerSpace(), subproblems, PBI(5.0), budget=30, seed=1)
        assert isinstance(algo, SearchAlgorithm) and algo.name == name
        while not algo.done:
            genomes = algo.ask()
            algo.tell(genomes, dtlz2(genomes))
        assert algo.proposed <= 30 and algo.proposed >= 24
        best = algo.best()
        assert len(best) == (2 if name == "re" else len(subproblems))
        assert all(len(genome) == N_VAR and np.isfinite(value) for genome, value in best)
        restored = create_algorithm(name, IntegerSpace(), subproblems, PBI(5.0), budget=30, seed=9)
        restored.load_state_dict(json.loads(json.dumps(algo.state_dict())))
        assert restored.done and restored.best() == best
    other = create_algorithm("re", IntegerSpace(), subproblems, PBI(5.0), budget=30, seed=1)
    with pytest.raises(ValueError, match="expected moead state version 2, got 're'"):
        create_algorithm("moead", IntegerSpace(), subproblems, PBI(5.0), 30, 1).load_state_dict(other.state_dict())
    with pytest.raises(ValueError, match="algorithm: unknown 'nsga'; choose one of moead, moead-surrogate, re"):
        create_algorithm("nsga", IntegerSpace(), subproblems, PBI(5.0), 30, 1)


class BinarySpace(IntegerSpace):
    """Six binary genes: 64 genomes, so that an unguarded MOEA/D soon proposes the same genome twice."""

    def sample(self, rng):
        return tuple(int(v) for v in rng.integers(0, 2, 6))

    def crossover(self, a, b, rng):
        take = rng.random(6) < 0.5
        return tuple(y if t else x for x, y, t in zip(a, b, take))

    def mutate(self, g, rng):
        return tuple(int(v) ^ int(f) for v, f in zip(g, rng.random(6) < 1 / 6))

    def mutate_one(self, g, rng):
        g = list(g)
        g[int(rng.integers(6))] ^= 1
        return tuple(g)


def proposals(avoid_duplicates: bool) -> list[tuple[int, ...]]:
    weights = get_reference_directions("das-dennis", 3, n_partitions=2)  # 6 sub-problems
    algo = MOEAD(BinarySpace(), weights, n_neighbors=3, scalarization=PBI(5.0), seed=3,
                 avoid_duplicates=avoid_duplicates)
    asked = []
    for _ in range(6):
        genomes = algo.ask()
        asked += genomes
        x = np.asarray(genomes, dtype=float)
        algo.tell(genomes, np.stack([x[:, :2].sum(1), x[:, 2:4].sum(1), 2 - x[:, 4:].sum(1)], axis=1))
    return asked


def test_moead_never_proposes_a_genome_twice_when_asked_not_to():
    assert len(set(proposals(avoid_duplicates=False))) < 36  # the failure this guards against
    assert len(set(proposals(avoid_duplicates=True))) == 36


def test_moead_replacement_limit_caps_how_many_sub_problems_one_child_takes():
    weights = get_reference_directions("das-dennis", 3, n_partitions=2)
    for n_replace, replaced in ((None, 6), (2, 2)):
        algo = MOEAD(IntegerSpace(), weights, n_neighbors=6, scalarization=PBI(5.0), ideal=np.zeros(3), seed=0,
                     n_replace=n_replace)
        first = algo.ask()
        algo.tell(first, np.full((len(first), 3), 5.0))
        children = algo.ask()
        F = np.full((len(children), 3), 9.0)
        F[0] = 0.01  # the first child beats every member on every sub-problem
        algo.tell(children, F)
        assert sum(member == tuple(children[0]) for member in algo.population) == replaced
    with pytest.raises(ValueError, match="n_replace must be at least 1"):
        MOEAD(IntegerSpace(), weights, n_replace=0)
