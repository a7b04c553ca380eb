"""The accuracy predictor (selection by cross-validated Kendall tau) and surrogate-assisted MOEA/D (pre-screening,
the archive's record of its picks, resume after ``kill -9``)."""

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import KFold

from muxnet.search.algorithms import SurrogateMOEAD
from muxnet.search.decomposition import parse_targets
from muxnet.search.driver import SearchConfig, run_search
from muxnet.search.driver.search_run import build_problem
from muxnet.search.evaluators import TableEvaluator
from muxnet.search.objectives import ComplexityCache
from muxnet.search.predictor import MODELS, AdaptivePredictor, GenomeEncoder, training_set
from muxnet.search.sampling import TargetedSampler
from muxnet.search.space import SearchSpace, genome_key, parse_genome_key

TABLE = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "tabular_small.csv.gz"
TABLE_TARGETS = "params=0.45M,madds=1.55M;params=0.5M,madds=1.8M;params=0.56M,madds=2.05M"


def brute_force_tau_b(a, b):
    """Kendall's tau-b by counting every pair: (concordant - discordant) / sqrt(pairs untied in a * in b)."""
    concordant = discordant = tied_a = tied_b = pairs = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        pairs += 1
        da, db = np.sign(a[i] - a[j]), np.sign(b[i] - b[j])
        tied_a += da == 0
        tied_b += db == 0
        concordant += da * db > 0
        discordant += da * db < 0
    return (concordant - discordant) / np.sqrt((pairs - tied_a) * (pairs - tied_b))


def known_function(space, genomes):
    """An additive function of the one-hot genes with one interaction: what a good predictor ranks well."""
    weights = np.random.default_rng(42).normal(size=space.n_genes)
    G = np.asarray(genomes, dtype=float)
    return G @ weights + 0.5 * G[:, 3] * G[:, 10]


def test_the_predictor_picks_the_model_with_the_best_cross_validated_tau_on_a_known_function():
    space = SearchSpace("small")
    rng = np.random.default_rng(0)
    genomes = [space.sample(rng) for _ in range(60)]
    costs = np.zeros((60, 0))
    y = known_function(space, genomes)
    predictor = AdaptivePredictor(GenomeEncoder(space), seed=3).fit(genomes, costs, y)

    z = (y - y.mean()) / y.std()
    X = GenomeEncoder(space).encode(genomes, costs)
    for name in MODELS:  # every candidate's tau is Kendall's tau-b of its out-of-fold predictions, pair by pair
        assert predictor.taus[name] == pytest.approx(brute_force_tau_b(predictor.oof[name], z), abs=1e-12)
    assert predictor.name == max(MODELS, key=lambda m: brute_force_tau_b(predictor.oof[m], z))
    assert predictor.tau == predictor.taus[predictor.name]

    # the out-of-fold predictions are out of fold: each fold's model never saw its test rows
    oof = np.empty(60)
    for train, test in KFold(5, shuffle=True, random_state=3).split(X):
        oof[test] = MODELS["rf"](3).fit(X[train], z[train]).predict(X[test])
    np.testing.assert_allclose(predictor.oof["rf"], oof)

    # the chosen model ranks unseen genomes of the known function well (noise labels would give about 0)
    fresh = [space.sample(rng) for _ in range(200)]
    mean, _ = predictor.predict(fresh, np.zeros((200, 0)))
    assert predictor.tau > 0.6
    assert brute_force_tau_b(mean, known_function(space, fresh)) > 0.6


def test_uncertainty_where_the_model_has_one_and_the_encoding():
    space = SearchSpace.covering([[0] * 30, [1] * 2 + [0] * 28])  # two free binary genes
    encoder = GenomeEncoder(space)
    X = encoder.encode([[1, 0] + [0] * 28], np.array([[0.25, 0.5]]))
    np.testing.assert_array_equal(X, [[0, 1, 1, 0, 0.25, 0.5]])  # one-hot of the free genes, then the costs
    full = SearchSpace("small")
    rng = np.random.default_rng(1)
    genomes = [full.sample(rng) for _ in range(30)]
    y = known_function(full, genomes)
    for models, has_std in ((("gp",), True), (("rf",), True), (("gb",), False), (("mlp",), False), (("rbf",), False)):
        mean, std = AdaptivePredictor(GenomeEncoder(full), models=models).fit(genomes, np.zeros((30, 0)), y).predict(
            genomes[:4], np.zeros((4, 0)))
        assert mean.shape == (4,) and (std is not None) == has_std
        if has_std:
            assert np.all(std >= 0)
    with pytest.raises(ValueError, match="models: choose among"):
        AdaptivePredictor(encoder, models=("svm",))


class TablePredictor:
    """A predictor of the table's errors: the truth (``noise`` 0) or a random score (``random``)."""

    def __init__(self, table, random=False, seed=0):
        self.table, self.random, self.rng = table, random, np.random.default_rng(seed)
        self.name, self.tau = ("random" if random else "oracle"), 1.0

    def fit(self, genomes, costs, errors):
        return self

    def predict(self, genomes, costs):
        if self.random:
            return self.rng.random(len(genomes)), None
        return np.array([self.table[genome_key(g)] for g in genomes]), None


def evaluations_to_optimum(predictor_for, seed, budget=18 * 12):
    """Per target, the evaluations surrogate MOEA/D needs until it has evaluated the target's table optimum
    (``budget`` + 1 if it never does), with the table as the evaluator, through the ask/tell protocol."""
    table = TableEvaluator(TABLE).table
    space = SearchSpace.covering([parse_genome_key(k) for k in table])
    complexity = ComplexityCache(space)
    config = SearchConfig(targets=TABLE_TARGETS, population=18)
    problem = build_problem(config, space, complexity, parse_targets(TABLE_TARGETS))
    keys = list(table)
    raw = np.array([[table[k], *complexity.vector(parse_genome_key(k))] for k in keys])
    optima = [keys[int(np.argmin(s))] for s in problem.target_scores(problem.normaliser.normalise_many(raw))]
    sampler = TargetedSampler(space, complexity, problem.normaliser.low, problem.normaliser.span)
    algorithm = SurrogateMOEAD.from_subproblems(sampler, problem.subproblems, problem.scalarization, budget, seed,
                                                predictor=predictor_for(table, seed))
    evaluated: list[str] = []
    while not algorithm.done and not set(optima) <= set(evaluated):
        genomes = algorithm.ask()
        evaluated += [genome_key(g) for g in genomes]
        F = problem.normaliser.normalise_many([[table[genome_key(g)], *complexity.vector(g)] for g in genomes])
        algorithm.tell(genomes, F)
    return [evaluated.index(k) + 1 if k in evaluated else budget + 1 for k in optima]


def test_a_predictor_that_knows_the_truth_finds_the_table_optimum_with_fewer_evaluations_than_random_screening():
    seeds = range(4)
    oracle = np.array([evaluations_to_optimum(lambda table, s: TablePredictor(table), s) for s in seeds])
    random = np.array([evaluations_to_optimum(lambda table, s: TablePredictor(table, random=True, seed=s), s)
                       for s in seeds])
    assert oracle.mean() < 0.4 * random.mean(), (oracle, random)  # measured: 0.23
    assert (oracle.mean(axis=0) < random.mean(axis=0)).all(), (oracle, random)  # on every target
    # the local search on the predictor reaches each optimum within four generations of 18 on average
    # (measured 21, 48.5 and 21 evaluations; random screening 86, 208 and 100)
    assert (oracle.mean(axis=0) < 4 * 18).all(), oracle


def test_the_archive_records_the_predictors_picks_beside_the_measured_error(tmp_path):
    config = SearchConfig(algorithm="moead-surrogate", evaluator="synthetic", population=6, generations=2, seed=1)
    lines = []
    run_search(config, tmp_path / "run", log=lines.append)
    with sqlite3.connect(tmp_path / "run" / "archive.sqlite") as db:
        rows = db.execute("SELECT generation, error, predicted_error, predictor FROM evaluations").fetchall()
    assert {g for g, *_ in rows} == {0, 1, 2}
    for generation, error, predicted, predictor in rows:
        assert (predicted is None) == (generation == 0)  # generation 0 has nothing to learn from
        if predicted is not None:
            note = json.loads(predictor)
            assert note["model"] in MODELS and -1 <= note["tau"] <= 1
            assert 1 <= note["proposals"] <= 30 + 5 * 3 * 56  # offspring, then 5 steps over 3 whole neighbourhoods
            assert abs(predicted - error) < 0.5
    assert any("predictor" in line and " tau " in line for line in lines if line.startswith("step 3"))
    # the training set a predictor would be fitted on, read back from the archive rows
    from muxnet.search.archive import Archive
    from muxnet.search.objectives import Normaliser

    with Archive(tmp_path / "run" / "archive.sqlite") as archive:
        ranges = archive.get_meta("normaliser")["ranges"]
        normaliser = Normaliser(tuple(ranges), tuple(tuple(r) for r in ranges.values()))
        genomes, costs, errors = training_set(archive.all(), normaliser)
    assert len(genomes) == len(rows) and costs.shape == (len(rows), 2)
    np.testing.assert_allclose(sorted(errors), sorted(r[1] for r in rows))


CONFIG = SearchConfig(algorithm="moead-surrogate", evaluator="synthetic", population=6, generations=3, seed=3)
COLUMNS = ("genome", "status", "error", "params", "madds", "generation", "predicted_error", "predictor")
KILL_SCRIPT = """
import sys
from muxnet.search.driver import SearchConfig, run_search
from muxnet.search.evaluators import SyntheticEvaluator
config = SearchConfig(algorithm="moead-surrogate", evaluator="synthetic", population=6, generations=3, seed=3)
run_search(config, sys.argv[1], evaluator=SyntheticEvaluator(delay=float(sys.argv[2])), log=print)
"""


def archive_rows(run_dir):
    with sqlite3.connect(run_dir / "archive.sqlite") as db:
        return sorted(db.execute(f"SELECT {', '.join(COLUMNS)} FROM evaluations").fetchall())


@pytest.mark.slow
def test_kill_9_mid_run_then_resume_gives_the_uninterrupted_archive(tmp_path):
    reference = tmp_path / "reference"
    run_search(CONFIG, reference, log=lambda _line: None)

    run = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(run), "0.1"], stdout=subprocess.DEVNULL)
    deadline = time.time() + 180  # start-up alone can take a minute on a loaded machine
    while time.time() < deadline:  # kill in the middle of the third generation, after two refits
        if (run / "archive.sqlite").exists():
            try:
                if len(archive_rows(run)) >= 2 * CONFIG.population + 2:
                    break
            except sqlite3.OperationalError:
                pass
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = archive_rows(run)
    assert 0 < len(partial) < len(archive_rows(reference)), "the kill must land mid-run"
    assert any(r[6] is not None for r in partial), "the kill must land after the predictor picked"

    run_search(CONFIG, run, resume=True, log=lambda _line: None)
    assert archive_rows(run) == archive_rows(reference)  # predictions too: the refit after resume is the same
    assert (run / "pareto.csv").read_text() == (reference / "pareto.csv").read_text()
