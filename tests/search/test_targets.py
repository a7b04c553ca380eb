"""Each target gets its own picks near it: the ASF scalarisation, the targeted initial members, the
reachability check and the per-target outputs."""

import gzip
import itertools
import json

import numpy as np
import pytest
from pymoo.decomposition.aasf import AASF

from muxnet.search.decomposition import TargetError, parse_targets
from muxnet.search.driver import SearchConfig, run_search
from muxnet.search.evaluators import EvalTask, SyntheticEvaluator
from muxnet.search.objectives import ComplexityCache, Normaliser
from muxnet.search.sampling import TargetedSampler, relative_distance
from muxnet.search.scalarization import PBI, TargetASF, create_scalarization
from muxnet.search.space import SearchSpace, genome_key

LOW, SPAN = (0.0, 0.4e6, 1.3e6), (1.0, 1.6e6, 7.3e6)


def _normalise(error, params, madds):
    return np.array([error, (params - LOW[1]) / SPAN[1], (madds - LOW[2]) / SPAN[2]])


def test_asf_is_pymoos_augmented_asf_on_relative_deviations():
    asf = create_scalarization("asf", theta=5.0, rho=0.01, band=0.0, low=LOW, span=SPAN)
    assert isinstance(asf, TargetASF) and asf.rho == 0.01 and asf.band == 0.0
    target = _normalise(0.0, 1.0e6, 4.0e6)
    F = np.stack([_normalise(0.3, 1.1e6, 3.0e6), _normalise(0.1, 1.0e6, 4.0e6)])
    terms = np.array([[0.3, 0.1 / 0.2, 0.25 / 0.2], [0.1, 0.0, 0.0]])
    expected = AASF(rho=0.01).do(terms, weights=np.ones(3), utopian_point=np.zeros(3))
    assert asf(F, target, np.zeros(3)) == pytest.approx(expected)
    assert asf(F, target, np.zeros(3)) == pytest.approx([1.25 + 0.01 * 2.05, 0.1 + 0.01 * 0.1])
    assert asf(np.array([[np.inf] * 3]), target, np.zeros(3))[0] == np.inf
    with pytest.raises(ValueError, match="tolerance"):
        TargetASF(tolerance=0)
    with pytest.raises(ValueError, match="band: the ASF's free deviation must be in"):
        TargetASF(tolerance=0.2, band=0.2)


def test_asf_band_lets_the_most_accurate_model_near_the_target_win():
    """Inside the band, accuracy decides; without it a 3-points-worse model 2% closer would win."""
    target = _normalise(0.0, 1.0e6, 4.0e6)
    accurate = _normalise(0.041, 1.045e6, 4.1e6)  # 4.5% and 2.5% off
    closer = _normalise(0.074, 1.02e6, 4.05e6)  # 2% and 1.25% off
    F = np.stack([accurate, closer])
    assert int(np.argmin(TargetASF(low=LOW, span=SPAN, band=0.0)(F, target, np.zeros(3)))) == 1
    assert int(np.argmin(TargetASF(low=LOW, span=SPAN, band=0.05)(F, target, np.zeros(3)))) == 0
    # beyond the band deviation counts again, and a deviation of `tolerance` is still worth one unit
    far = TargetASF(low=LOW, span=SPAN, band=0.05, rho=0.0)(_normalise(0.0, 1.2e6, 4.0e6)[None], target,
                                                              np.zeros(3))
    assert far[0] == pytest.approx(1.0)


def test_pbi_picks_one_model_for_all_default_targets_where_asf_picks_one_near_each():
    """The diagnosis: with error targets 0 the three default directions nearly coincide for PBI."""
    targets = parse_targets(SearchConfig().targets)
    models = np.array([[0.30, 0.6e6, 2.0e6], [0.25, 1.0e6, 3.5e6], [0.22, 1.5e6, 5.5e6], [0.35, 0.45e6, 1.5e6]])
    F = np.stack([_normalise(*m) for m in models])
    weights = np.stack([_normalise(0.0, t["params"], t["madds"]) for t in targets])
    pbi = PBI(5.0)
    asf = TargetASF(low=LOW, span=SPAN)
    pbi_picks = {int(np.argmin(pbi(F, w, np.zeros(3)))) for w in weights}
    asf_picks = [int(np.argmin(asf(F, w, np.zeros(3)))) for w in weights]
    assert len(pbi_picks) == 1
    assert asf_picks == [0, 1, 2]


def test_asf_keeps_the_pick_within_tolerance_when_any_candidate_is():
    asf = TargetASF(low=LOW, span=SPAN, tolerance=0.2)
    target = _normalise(0.0, 1.0e6, 4.0e6)
    # a far more accurate model 50% too large loses to a poor one within 10%
    F = np.stack([_normalise(0.05, 1.5e6, 6.0e6), _normalise(0.9, 1.1e6, 4.2e6)])
    assert int(np.argmin(asf(F, target, np.zeros(3)))) == 1


@pytest.mark.slow
def test_targeted_initial_members_start_near_each_target():
    space = SearchSpace("small")
    complexity = ComplexityCache(space)
    normaliser = Normaliser.for_space(space, complexity)
    sampler = TargetedSampler(space, complexity, normaliser.low, normaliser.span)
    rng = np.random.default_rng(0)
    for target in parse_targets(SearchConfig().targets):
        reference = normaliser(0.0, target["params"], target["madds"])
        genomes = [sampler.sample_near(reference, rng) for _ in range(3)]
        assert len(set(genomes)) == 3
        for g in genomes:
            cost = complexity(g)
            assert relative_distance([cost.params, cost.madds], [target["params"], target["madds"]]) < 0.1


def test_unreachable_target_is_refused_before_training_naming_the_closest_point(tmp_path):
    # inside each range on its own, but no genome has this few params with this many MAdds
    config = SearchConfig(evaluator="synthetic", targets="params=0.45M,madds=8M", population=6)
    with pytest.raises(TargetError, match=r"targets\[0\].*closest found has params=.*M, madds=.*M"):
        run_search(config, tmp_path / "run", log=lambda line: None)
    assert not (tmp_path / "run").exists()


def test_distinct_targets_give_distinct_picks_near_each_target(tmp_path):
    config = SearchConfig(evaluator="synthetic", population=9, generations=2, seed=1, top_k=3)
    result = run_search(config, tmp_path / "run", log=lambda line: None)
    picks = [entry["models"][0] for entry in result.best_per_target]
    assert len({p["genome"] for p in picks}) == 3
    for entry, pick in zip(result.best_per_target, picks):
        assert abs(pick["params"] / entry["target_params"] - 1) <= 0.2, entry
        assert abs(pick["madds"] / entry["target_madds"] - 1) <= 0.2, entry
        assert pick["distance"] == pytest.approx(relative_distance([pick["params"], pick["madds"]],
                                                                   [entry["target_params"], entry["target_madds"]]))
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["scalarization"] == "asf"
    for t in (1, 2, 3):
        assert (tmp_path / "run" / "top" / f"target{t}_rank1.yaml").is_file()
    assert (tmp_path / "run" / "pareto.png").stat().st_size > 0



@pytest.mark.slow
def test_a_search_restricted_to_a_tabular_sub_space_proposes_only_table_genomes(tmp_path):
    """A synthetic tabular benchmark (stage 3 and 4 repetitions and expansion free: 64 genomes) read from
    .csv.gz; every proposal must be in the table, and each target gets its own pick near it."""
    full = SearchSpace("small")
    base = [1] * full.n_genes
    base[12] = base[20] = 0  # no spatial multiplexing
    free = (18, 26, 16, 24)  # stage3/4 normal.repeat, stage3/4 normal.expand_ratio
    genomes = []
    for a, b, c, d in itertools.product(range(4), range(4), range(2), range(2)):
        g = list(base)
        g[18], g[26], g[16], g[24] = a, b, c, d
        genomes.append(tuple(g))
    sub = SearchSpace.covering(genomes)
    assert sub.size == 64 and set(sub.free) == set(free)
    rng = np.random.default_rng(0)
    keys = {genome_key(g) for g in genomes}
    assert all(genome_key(sub.mutate_one(sub.sample(rng), rng)) in keys for _ in range(50))
    complexity, evaluator = ComplexityCache(full), SyntheticEvaluator()
    rows = []
    for g in genomes:
        cost = complexity(g)
        error = evaluator.evaluate(EvalTask(genome_key(g), {}, cost.params, cost.madds, 0, 0))
        rows.append((genome_key(g), error, cost.params, cost.madds))
    table = tmp_path / "table.csv.gz"
    with gzip.open(table, "wt") as handle:
        handle.write("genome,error,params,madds,seconds\n" + "".join(f"{k},{e},{p},{m},0\n" for k, e, p, m in rows))
    rows.sort(key=lambda r: r[2])
    chosen = [rows[8], rows[32], rows[56]]
    targets = ";".join(f"params={p},madds={m}" for _, _, p, m in chosen)
    config = SearchConfig(evaluator=f"table:{table}", restrict_to_table=True, targets=targets, population=9,
                          generations=3, seed=0)
    result = run_search(config, tmp_path / "run", log=lambda line: None)
    assert result.failed == 0  # nothing outside the table was proposed
    picks = [entry["models"][0] for entry in result.best_per_target]
    assert len({p["genome"] for p in picks}) == 3
    assert all(p["distance"] <= 0.2 for p in picks)
    with pytest.raises(ValueError, match="restrict_to_table: needs a 'table:PATH' evaluator"):
        SearchConfig(evaluator="synthetic", restrict_to_table=True)


def test_the_search_problem_scores_each_target_and_refuses_too_few_sub_problems():
    from muxnet.search.driver.search_run import SearchSetupError, build_problem

    space = SearchSpace("small")
    complexity = ComplexityCache(space)
    config = SearchConfig(population=9)
    targets = parse_targets(config.targets)
    problem = build_problem(config, space, complexity, targets)
    assert len(problem.subproblems.target_weights()) == len(targets)
    models = [(0.30, 0.6e6, 2.0e6), (0.25, 1.0e6, 3.5e6), (0.22, 1.5e6, 5.5e6)]
    F = problem.normaliser.normalise_many(np.array(models))
    assert [int(np.argmin(scores)) for scores in problem.target_scores(F)] == [0, 1, 2]
    with pytest.raises(SearchSetupError, match="fewer than 2 sub-problems for each of the 3 targets"):
        build_problem(SearchConfig(population=5), space, complexity, targets)


def test_the_shipped_tabular_benchmark_holds_every_genome_of_its_sub_space():
    import sys
    from pathlib import Path

    from muxnet.search.evaluators import TableEvaluator

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "benchmarks"))
    try:
        from build_tabular_benchmark import enumerate_genomes
    finally:
        sys.path.remove(str(root / "benchmarks"))
    table = TableEvaluator(root / "benchmarks" / "data" / "tabular_small.csv.gz").table
    genomes = {genome_key(g) for g in enumerate_genomes(SearchSpace("small"))}
    assert len(genomes) == 1024 and set(table) == genomes
    assert all(0.0 <= e <= 1.0 for e in table.values()) and len(set(table.values())) > 10
    meta = json.loads((root / "benchmarks" / "data" / "tabular_small.json").read_text())
    assert meta["genomes"] == 1024 and "build_tabular_benchmark.py" in meta["command"]
