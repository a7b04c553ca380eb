import csv
import gzip
import itertools
import json

import numpy as np
import pytest

from muxnet.cli import main
from muxnet.profiling import count_spec
from muxnet.profiling.latency import LatencyTable, LatencyTableError
from muxnet.search.archive import Archive
from muxnet.search.decomposition import Target, TargetError, parse_targets
from muxnet.search.driver import SearchConfig, run_search
from muxnet.search.driver.search_run import SearchSetupError
from muxnet.search.evaluators import EvalTask, SyntheticEvaluator
from muxnet.search.objectives import Objective, ObjectiveError, parse_objectives
from muxnet.search.space import SearchSpace, genome_key

LATENCY = "error,params,latency"


def quiet(_line):
    pass


def fake_clock(module, shape):
    """Deterministic 'milliseconds': weights plus activations, so latency is not a rescaled params count."""
    return sum(p.numel() for p in module.parameters()) / 1e5 + np.prod(shape) / 2e4


def fake_table(tmp_path):
    return LatencyTable(tmp_path / "lut.json", timer=fake_clock)


@pytest.mark.parametrize("text, message", [
    ("error,flops", r"unknown objective 'flops'; choose two or three of error, params, madds, latency"),
    ("error", r"1 given \(error\); choose two or three of"),
    ("error,params,madds,latency", r"4 given"),
    ("error,params,params", r"params is given twice"),
    ("params,latency", r"error is missing"),
    ("", r"0 given \(none\)"),
])
def test_bad_objectives_are_one_line_naming_the_choices(text, message):
    with pytest.raises(ObjectiveError, match=message) as err:
        parse_objectives(text)
    assert "\n" not in str(err.value)


def test_objectives_put_error_first_and_take_custom_names():
    assert parse_objectives("latency, error") == ("error", "latency")
    assert parse_objectives("error,params,energy", custom=["energy"]) == ("error", "params", "energy")
    with pytest.raises(ObjectiveError, match="error, params, madds, latency, energy"):
        parse_objectives("error,watts", custom=["energy"])


def test_targets_name_a_value_for_each_chosen_cost():
    names = parse_objectives(LATENCY)
    targets = parse_targets("params=1M,latency=5ms;params=2M,latency=800us,error=0.1;params=1.5M,latency=2.5", names)
    assert targets == [Target({"params": 1e6, "latency": 5.0}), Target({"params": 2e6, "latency": 0.8}, 0.1),
                       Target({"params": 1.5e6, "latency": 2.5})]
    assert targets[0].label() == "params=1M,latency=5ms"
    with pytest.raises(TargetError, match=r"missing latency; with objectives error,params,latency a target is "
                                          r"like 'params=1M,latency=5ms'"):
        parse_targets("params=1M", names)
    with pytest.raises(TargetError, match=r"'madds' is not one of the objectives \(error, params, latency\)"):
        parse_targets("params=1M,madds=3M,latency=5ms", names)
    with pytest.raises(TargetError, match="not a latency like 3.2ms"):
        parse_targets("params=1M,latency=5M", names)
    with pytest.raises(TargetError, match="latency must be above 0"):
        parse_targets("params=1M,latency=0ms", names)


def _tabular_sub_space(tmp_path, table: LatencyTable):
    """64 genomes (stage 3/4 repetitions and expansion free) with synthetic errors, as a gzipped table; and
    each genome's (params, latency) from the fake-clock latency table."""
    full = SearchSpace("small")
    base = [1] * full.n_genes
    base[12] = base[20] = 0  # no spatial multiplexing
    rows, costs = [], {}
    evaluator = SyntheticEvaluator()
    for a, b, c, d in itertools.product(range(4), range(4), range(2), range(2)):
        g = list(base)
        g[18], g[26], g[16], g[24] = a, b, c, d
        spec = full.decode(g)
        params, madds = count_spec(spec)
        error = evaluator.evaluate(EvalTask(genome_key(g), {}, params, madds, 0, 0))
        rows.append((genome_key(g), error))
        costs[genome_key(g)] = (params, table.network(spec))
    path = tmp_path / "table.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("genome,error\n" + "".join(f"{k},{e}\n" for k, e in rows))
    return path, costs


@pytest.mark.slow
def test_a_latency_search_on_a_table_delivers_picks_near_each_params_and_latency_target(tmp_path):
    table = fake_table(tmp_path)
    path, costs = _tabular_sub_space(tmp_path, table)
    by_params = sorted(costs.values())
    chosen = [by_params[8], by_params[32], by_params[56]]
    targets = ";".join(f"params={p},latency={lat:.4f}ms" for p, lat in chosen)
    config = SearchConfig(evaluator=f"table:{path}", restrict_to_table=True, objectives=LATENCY, targets=targets,
                          population=9, generations=3, seed=0)
    result = run_search(config, tmp_path / "run", log=quiet, latency_table=table)
    assert result.failed == 0
    picks = [entry["models"][0] for entry in result.best_per_target]
    assert len({p["genome"] for p in picks}) == 3
    for (params, latency), entry, pick in zip(chosen, result.best_per_target, picks):
        assert entry["target_params"] == params and entry["target_latency"] == pytest.approx(latency, rel=1e-3)
        assert abs(pick["params_deviation"]) <= 0.2 and abs(pick["latency_deviation"]) <= 0.2
        assert pick["latency"] == pytest.approx(costs[pick["genome"]][1])  # the table's sum for that genome
        assert pick["distance"] == pytest.approx(max(abs(pick["params_deviation"]), abs(pick["latency_deviation"])))
    run = tmp_path / "run"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["objectives"] == ["error", "params", "latency"]
    assert summary["latency_table"]["path"] == str(table.path)
    assert len(summary["latency_table"]["validation"]["networks"]) == 5
    with (run / "pareto.csv").open() as handle:
        header = next(csv.reader(handle))
    assert header == ["genome", "spec", "error", "params", "latency", "madds"]
    with Archive(run / "archive.sqlite") as archive:
        assert all(r.cost("latency") == pytest.approx(costs[r.genome][1]) for r in archive.all())
    assert (run / "pareto.png").stat().st_size > 1000
    assert json.loads(table.path.read_text())["entries"]  # the table was saved for the next run


def test_resuming_with_other_objectives_is_refused_in_one_line(tmp_path):
    config = SearchConfig(evaluator="synthetic", population=6, generations=0, seed=2,
                          targets="params=0.6M,madds=2M;params=1.2M,madds=4M")
    (tmp_path / "run").mkdir()
    with Archive(tmp_path / "run" / "archive.sqlite") as archive:  # the run's record of its configuration
        archive.set_meta("config", config.to_dict())
    other = SearchConfig(evaluator="synthetic", population=6, generations=0, seed=2, objectives=LATENCY,
                         targets="params=0.6M,latency=5ms;params=1.2M,latency=9ms")
    with pytest.raises(SearchSetupError, match=r"different configuration \(objectives: 'error,params,madds' -> "
                                               r"'error,params,latency', targets: .*\)") as err:
        run_search(other, tmp_path / "run", resume=True, log=quiet, latency_table=fake_table(tmp_path))
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_a_custom_objective_from_python(tmp_path):
    calls = []

    def energy(spec):  # e.g. an energy model: millijoules from MAdds and params
        calls.append(spec.name)
        params, madds = count_spec(spec)
        return 0.4 * madds / 1e6 + 2.0 * params / 1e6

    objective = Objective("energy", energy)
    config = SearchConfig(evaluator="synthetic", objectives="error,params,energy", population=6, generations=1,
                          seed=1, targets="params=0.6M,energy=2.2;params=1.2M,energy=4.5", top_k=2)
    result = run_search(config, tmp_path / "run", log=quiet, objectives=[objective])
    for entry, target in zip(result.best_per_target, (2.2, 4.5)):
        pick = entry["models"][0]
        assert entry["target_energy"] == target and abs(pick["energy"] / target - 1) <= 0.2
        assert pick["energy"] == pytest.approx(0.4 * pick["madds"] / 1e6 + 2.0 * pick["params"] / 1e6)
    with Archive(tmp_path / "run" / "archive.sqlite") as archive:
        rows = archive.all()
    assert all(r.other_costs["energy"] > 0 for r in rows)
    # a resumed run takes every archived genome's energy from the archive instead of calling the model again
    before = len(calls)
    run_search(config, tmp_path / "run", resume=True, log=quiet, objectives=[objective])
    assert not set(calls[before:]) & {f"search_small_{r.genome}" for r in rows}


def test_custom_objectives_are_checked(tmp_path):
    energy = Objective("energy", lambda spec: 1.0)
    base = dict(evaluator="synthetic", population=6, generations=0, targets="params=1M,energy=1")
    with pytest.raises(ObjectiveError, match="unknown objective 'energy'; choose two or three of error, params, "
                                             "madds, latency"):
        run_search(SearchConfig(objectives="error,params,energy", **base), tmp_path / "a", log=quiet)
    with pytest.raises(ObjectiveError, match="the custom objective energy is not in --objectives"):
        run_search(SearchConfig(**{**base, "targets": "params=1M,madds=3M"}), tmp_path / "b", log=quiet,
                   objectives=[energy])
    with pytest.raises(ObjectiveError, match="params is built in"):
        run_search(SearchConfig(**base), tmp_path / "c", log=quiet, objectives=[Objective("params", len)])
    with pytest.raises(ObjectiveError, match="equal|at both the cheapest and the most expensive genome"):
        run_search(SearchConfig(objectives="error,params,energy", **base), tmp_path / "d", log=quiet,
                   objectives=[energy])
    with pytest.raises(ObjectiveError, match=r"objective energy: nan .* finite number >= 0"):
        Objective("energy", lambda spec: float("nan"))(SearchSpace().decode(SearchSpace().extreme_genomes()[0]))
    with pytest.raises(ValueError, match="latency_threads: only used with latency among the objectives"):
        SearchConfig(latency_threads=2)
    with pytest.raises(ObjectiveError, match="a latency table is given but latency is not among the objectives"):
        run_search(SearchConfig(evaluator="synthetic"), tmp_path / "e", log=quiet, rebuild_latency_table=True)
    assert not any((tmp_path / d).exists() for d in "abcde")


def test_a_latency_table_of_another_machine_stops_the_search_in_one_line(tmp_path, capsys):
    path = tmp_path / "lut.json"
    path.write_text(json.dumps({"version": 1, "machine": {"cpu": "elsewhere"}, "entries": {}}))
    config = SearchConfig(evaluator="synthetic", objectives=LATENCY, latency_table=str(path),
                          targets="params=1M,latency=5ms", population=6, generations=0)
    with pytest.raises(LatencyTableError, match="measured on another machine"):
        run_search(config, tmp_path / "run", log=quiet)
    out = str(tmp_path / "run2")
    assert main(["search", "--objectives", LATENCY, "--targets", "params=1M,latency=5ms", "--evaluator", "synthetic",
                 "--latency-table", str(path), "--output", out]) == 2
    assert main(["search", "--objectives", LATENCY, "--output", out]) == 2  # the default targets name MAdds
    assert main(["search", "--objectives", "error,params,params", "--targets", "params=1M", "--output", out]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("muxnet search: error:") for line in err)
    assert "measured on another machine" in err[0] and "--targets: with --objectives" in err[1]
    assert "params is given twice" in err[2]
    assert not (tmp_path / "run").exists() and not (tmp_path / "run2").exists()


def test_one_cost_sub_problems_spread_along_it_and_normalise_over_its_range():
    from muxnet.search.decomposition import reference_directions
    from muxnet.search.objectives import ComplexityCache, Normaliser

    subproblems = reference_directions(np.array([[0.0, 0.4], [0.0, 0.8]]), per_target=3, spread=0.05)
    assert subproblems.weights.shape == (6, 2)
    np.testing.assert_allclose(subproblems.weights[:3, 1], [0.4, 0.45, 0.35])  # the target, then either side
    space = SearchSpace("small")
    energy = Objective("energy", lambda spec: count_spec(spec)[1] / 1e6, range=(1.0, 9.0))
    normaliser = Normaliser.for_space(space, ComplexityCache(space, [energy]))
    assert normaliser.objectives == ("error", "energy") and normaliser.ranges == ((1.0, 9.0),)
    np.testing.assert_allclose(normaliser(0.25, 5.0), [0.25, 0.5])
    np.testing.assert_allclose(normaliser.check_target(Target({"energy": 3.0}, 0.1), 0), [0.1, 0.25])
