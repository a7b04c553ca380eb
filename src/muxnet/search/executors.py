"""Executors: where candidate evaluations run. Each yields results *as they finish*, so the driver can
archive every evaluation immediately (a crash loses at most the evaluations still running).

* :class:`InProcessExecutor`: one after the other, in this process (debugging, cheap evaluators).
* :class:`ProcessPoolExecutor`: a local pool of worker processes (the evaluator is shipped once per worker).
* :class:`RayExecutor`: a Ray cluster (``address="auto"``, ``"ray://host:10001"``) or a local Ray instance
  (``address=None``); needs ``pip install muxnet[ray]``.
"""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import os
from collections.abc import Iterator, Sequence

from ..runtime.processes import available_cpus, die_with_parent
from .evaluators import EvalResult, EvalTask, run_task

EXECUTORS = ("inprocess", "process", "ray")


class InProcessExecutor:
    name = "inprocess"

    def __init__(self, evaluator):
        self.evaluator = evaluator

    def map_unordered(self, tasks: Sequence[EvalTask]) -> Iterator[EvalResult]:
        for task in tasks:
            yield run_task(self.evaluator, task)

    def close(self) -> None:
        pass


_WORKER_EVALUATOR = None


def _init_worker(evaluator, threads: int, parent_pid: int) -> None:
    global _WORKER_EVALUATOR
    import torch

    die_with_parent(parent_pid)  # a kill -9 of the search must not leave workers running on
    torch.set_num_threads(threads)  # workers share the cores; one BLAS pool each
    _WORKER_EVALUATOR = evaluator


def _run_in_worker(task: EvalTask) -> EvalResult:
    return run_task(_WORKER_EVALUATOR, task)


class ProcessPoolExecutor:
    name = "process"

    def __init__(self, evaluator, workers: int | None = None):
        self.workers = workers or available_cpus()
        threads = max(1, available_cpus() // self.workers)
        # spawn: forking a process that already ran torch can deadlock its thread pools
        self.pool = futures.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                initializer=_init_worker, initargs=(evaluator, threads, os.getpid()))

    def map_unordered(self, tasks: Sequence[EvalTask]) -> Iterator[EvalResult]:
        pending = {self.pool.submit(_run_in_worker, task): task for task in tasks}
        for future in futures.as_completed(pending):
            task = pending[future]
            try:
                yield future.result()
            except Exception as err:  # noqa: BLE001 - a crashed worker (e.g. killed for memory) fails one candidate
                yield EvalResult(task.genome, "failed", None, f"worker crashed: {type(err).__name__}: {err}")

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


class RayExecutor:
    name = "ray"

    def __init__(self, evaluator, address: str | None = None, workers: int | None = None):
        try:
            import ray
        except ImportError:
            raise RuntimeError("the Ray executor needs Ray: pip install 'muxnet[ray]'") from None
        self.ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            kwargs = {"address": address} if address else {"num_cpus": workers or available_cpus()}
            ray.init(include_dashboard=False, log_to_driver=False, **kwargs)
        self.evaluator_ref = ray.put(evaluator)
        self.remote_task = ray.remote(num_cpus=1, max_retries=0)(run_task)

    def map_unordered(self, tasks: Sequence[EvalTask]) -> Iterator[EvalResult]:
        refs = {self.remote_task.remote(self.evaluator_ref, task): task for task in tasks}
        waiting = list(refs)
        while waiting:
            done, waiting = self.ray.wait(waiting, num_returns=1)
            task = refs[done[0]]
            try:
                yield self.ray.get(done[0])
            except Exception as err:  # noqa: BLE001 - a lost node or worker fails one candidate
                yield EvalResult(task.genome, "failed", None, f"ray task failed: {type(err).__name__}: {err}")

    def close(self) -> None:
        if self._owns:
            self.ray.shutdown()


def make_executor(name: str, evaluator, workers: int | None = None, ray_address: str | None = None):
    if name == "inprocess":
        return InProcessExecutor(evaluator)
    if name == "process":
        return ProcessPoolExecutor(evaluator, workers)
    if name == "ray":
        return RayExecutor(evaluator, ray_address, workers)
    raise ValueError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")


__all__ = ["EXECUTORS", "InProcessExecutor", "ProcessPoolExecutor", "RayExecutor", "make_executor"]
