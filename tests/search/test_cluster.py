"""The Ray executor's rules for lost candidates, against a stand-in for Ray whose tasks fail as a cluster's do.

A candidate whose node dies is submitted again (bounded) and never recorded as failed; one whose worker process
dies on every attempt is the candidate's own failure; a cluster that keeps losing a candidate's node stops the
search (resumable). The same rules on a real cluster of two nodes, one killed mid-search:
``benchmarks/check_node_loss.py`` (about two minutes; README, "Search on a cluster").
"""

import sys
import types

import numpy as np
import pytest

from muxnet.search.driver import SearchConfig, run_search
from muxnet.search.evaluators import EvalTask, SyntheticEvaluator, run_task
from muxnet.search.executors import ClusterLost, RayExecutor
from muxnet.search.space import SearchSpace, genome_key


class NodeDiedError(Exception):
    pass


class WorkerCrashedError(Exception):
    pass


class Ref:
    """An object reference: hashable, its result computed when it is got."""

    def __init__(self, error, run):
        self.error, self.run = error, run


class FakeRay(types.ModuleType):
    """``ray`` as the executor uses it; ``losses[genome]`` lists the error each attempt of that genome meets
    before one runs (none: it runs)."""

    def __init__(self, losses=None, resources=None):
        super().__init__("ray")
        self.exceptions = types.SimpleNamespace(NodeDiedError=NodeDiedError, WorkerCrashedError=WorkerCrashedError)
        self.losses = {k: list(v) for k, v in (losses or {}).items()}
        self.resources = resources or {"CPU": 8.0, "GPU": 2.0}
        self.options, self.submitted = {}, []

    def is_initialized(self):
        return True  # connected already: the executor neither starts nor stops it

    def cluster_resources(self):
        return self.resources

    def put(self, value):
        return value

    def remote(self, **options):
        self.options = options
        ray = self

        class Remote:
            def __init__(self, fn):
                self.fn = fn

            def remote(self, evaluator, task):
                ray.submitted.append(task.genome)
                pending = ray.losses.get(task.genome)
                return Ref(pending.pop(0) if pending else None, lambda: self.fn(evaluator, task))

        return Remote

    def wait(self, refs, num_returns=1):
        return refs[:1], refs[1:]

    def get(self, ref):
        if ref.error is not None:
            raise ref.error("lost")
        return ref.run()


GENOMES = [genome_key(SearchSpace().sample(np.random.default_rng(i))) for i in range(3)]


def tasks(n=3):
    return [EvalTask(GENOMES[i], {}, 10 ** 6, 10 ** 7, i) for i in range(n)]


@pytest.fixture
def fake_ray(monkeypatch):
    def install(**kwargs):
        ray = FakeRay(**kwargs)
        monkeypatch.setitem(sys.modules, "ray", ray)
        return ray

    return install


def test_a_candidate_lost_with_its_node_runs_again_and_is_not_failed(fake_ray):
    g0, g1, g2 = GENOMES
    ray = fake_ray(losses={g1: [NodeDiedError, NodeDiedError], g2: [WorkerCrashedError]})
    lines = []
    executor = RayExecutor(SyntheticEvaluator(), gpus_per_candidate=0.25, cpus_per_candidate=2, log=lines.append)
    results = list(executor.map_unordered(tasks()))
    assert sorted(r.genome for r in results) == sorted(GENOMES) and all(r.status == "ok" for r in results)
    assert sorted(ray.submitted) == sorted([g0, g1, g1, g1, g2, g2])
    assert sum("its node was lost" in line for line in lines) == 2 and any("retry 2 of 3" in x for x in lines)
    assert ray.options == {"num_cpus": 2.0, "num_gpus": 0.25, "max_retries": 0, "max_calls": 0}
    assert executor.slots() == 4  # 8 CPUs / 2 per candidate; 2 GPUs / 0.25 would allow 8


def test_a_node_lost_beyond_the_retries_stops_the_search_and_a_crashing_candidate_fails(fake_ray):
    fake_ray(losses={GENOMES[0]: [WorkerCrashedError] * 3})
    results = list(RayExecutor(SyntheticEvaluator(), retries=2).map_unordered(tasks(2)))
    failed = [r for r in results if r.status == "failed"]
    assert [r.genome for r in failed] == GENOMES[:1] and "worker crashed on each of 3 attempts" in failed[0].message
    fake_ray(losses={GENOMES[1]: [NodeDiedError] * 3})
    with pytest.raises(ClusterLost, match=f"{GENOMES[1]} lost its node 3 times.*--resume continues"):
        list(RayExecutor(SyntheticEvaluator(), retries=2).map_unordered(tasks(2)))


def test_gpus_are_asked_for_only_when_the_cluster_has_them_and_the_evaluator_trains(fake_ray):
    class Training(SyntheticEvaluator):
        device = "auto"

    fake_ray()
    assert RayExecutor(Training()).gpus_per_candidate == 1.0
    assert RayExecutor(SyntheticEvaluator()).gpus_per_candidate == 0.0  # no training, no GPU
    fake_ray(resources={"CPU": 4.0})
    assert RayExecutor(Training()).gpus_per_candidate == 0.0


def test_the_archive_is_exact_after_lost_nodes(fake_ray, tmp_path):
    config = SearchConfig(evaluator="synthetic", population=6, generations=2, seed=4)
    run_search(config, tmp_path / "local", log=lambda line: None)
    from muxnet.search.archive import Archive

    with Archive(tmp_path / "local" / "archive.sqlite") as archive:
        genomes = [r.genome for r in archive.all()]
        local = sorted((r.genome, r.status, r.error) for r in archive.all())
    # every other candidate loses its node once, one of them twice
    fake_ray(losses={**{g: [NodeDiedError] for g in genomes[::2]}, genomes[0]: [NodeDiedError] * 2})
    result = run_search(config, tmp_path / "ray", executor="ray", log=lambda line: None)
    with Archive(tmp_path / "ray" / "archive.sqlite") as archive:
        assert sorted((r.genome, r.status, r.error) for r in archive.all()) == local
    assert result.failed == 0


def test_run_task_is_what_the_tasks_run():
    result = run_task(SyntheticEvaluator(), tasks(1)[0])
    assert result.status == "ok" and 0 <= result.error <= 1
