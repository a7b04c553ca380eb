import numpy as np
import pytest
from pymoo.decomposition.pbi import PBI as PymooPBI

from muxnet.search.decomposition import Target, TargetError, parse_targets, reference_directions
from muxnet.search.objectives import ComplexityCache, Normaliser
from muxnet.search.scalarization import PBI, create_scalarization
from muxnet.search.space import SearchSpace


def test_pbi_matches_pymoo():
    rng = np.random.default_rng(0)
    F, W, ideal = rng.random((50, 3)), rng.random((50, 3)) + 0.01, rng.random(3) * 0.1
    np.testing.assert_allclose(PBI(5.0)(F, W, ideal), PymooPBI(theta=5).do(F, weights=W, ideal_point=ideal),
                               rtol=1e-12)
    np.testing.assert_allclose(PBI(2.0)(F, W[0], ideal), PymooPBI(theta=2).do(F, weights=W[0], ideal_point=ideal),
                               rtol=1e-12)


def test_pbi_formula_and_failed_rows():
    # on the direction: d2 = 0, d1 = distance; off it by 1: + theta
    w = np.array([0.0, 1.0, 1.0])
    pbi = create_scalarization("pbi", theta=5)
    assert pbi == PBI(5.0) and pbi.name == "pbi"
    assert pbi(np.array([[0.0, 2.0, 2.0]]), w, np.zeros(3))[0] == pytest.approx(np.sqrt(8))
    assert pbi(np.array([[1.0, 2.0, 2.0]]), w, np.zeros(3))[0] == pytest.approx(np.sqrt(8) + 5)
    assert pbi(np.array([[np.inf, 1.0, 1.0]]), w, np.zeros(3))[0] == np.inf
    with pytest.raises(ValueError, match="scalarization: unknown 'tchebycheff'; choose one of asf, pbi"):
        create_scalarization("tchebycheff")
    with pytest.raises(ValueError, match="theta"):
        PBI(-1.0)


def test_parse_targets():
    targets = parse_targets("params=1.8M,madds=66M; params=2400k,madds=0.117G,error=0.2")
    assert targets == [Target({"params": 1.8e6, "madds": 66e6}, 0.0), Target({"params": 2.4e6, "madds": 117e6}, 0.2)]
    assert targets[1]["madds"] == 117e6 and targets[1].label() == "params=2.4M,madds=117M"


@pytest.mark.parametrize("text, message", [
    ("", "at least one target"),
    ("params=1.8M", "missing madds"),
    ("params=1.8M,madds=abc", "not a number"),
    ("params=-1M,madds=66M", "must not be negative"),
    ("params=1M,flops=3M", r"'flops' is not one of the objectives \(error, params, madds\)"),
    ("params=1M,params=2M,madds=3M", "given twice"),
    ("params 1M,madds=3M", "name=value"),
    ("params=1M,madds=3M,error=1.5", "error must be in"),
])
def test_malformed_targets_are_refused(text, message):
    with pytest.raises(TargetError, match=message):
        parse_targets(text)


def test_unreachable_targets_are_refused_and_reachable_ones_normalised():
    space = SearchSpace("small")
    normaliser = Normaliser.for_space(space, ComplexityCache(space))
    (low_p, high_p), (low_m, high_m) = normaliser.ranges
    assert low_p < high_p and low_m < high_m
    mid = normaliser.check_target(Target({"params": (low_p + high_p) / 2, "madds": (low_m + high_m) / 2}), 0)
    np.testing.assert_allclose(mid, [0.0, 0.5, 0.5])
    with pytest.raises(TargetError, match=r"targets\[1\].*params=.*outside the search space's reachable range"):
        normaliser.check_target(Target({"params": high_p * 2, "madds": low_m}), 1)


def test_reference_directions_spread_around_each_target():
    targets = np.array([[0.0, 0.2, 0.3], [0.0, 0.7, 0.6]])
    subproblems = reference_directions(targets, per_target=5, spread=0.05)
    weights, owner = subproblems.weights, subproblems.owner
    assert weights.shape == (10, 3) and list(owner) == [0] * 5 + [1] * 5
    assert subproblems.n_targets == 2 and len(subproblems) == 10
    np.testing.assert_array_equal(subproblems.target_weights(), targets)
    np.testing.assert_allclose(weights[0], targets[0])
    for t in range(2):
        distances = np.linalg.norm(weights[owner == t] - targets[t], axis=1)
        assert distances[0] == 0 and np.allclose(distances[1:], 0.05)
    again = reference_directions(targets, per_target=5, spread=0.05)
    np.testing.assert_array_equal(weights, again.weights)
