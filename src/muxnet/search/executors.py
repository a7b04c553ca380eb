"""Executors: where candidate evaluations run. Each yields results *as they finish*, so the driver can
archive every evaluation immediately (a crash loses at most the evaluations still running).

* :class:`InProcessExecutor`: one after the other, in this process (debugging, cheap evaluators).
* :class:`ProcessPoolExecutor`: a local pool of worker processes (the evaluator is shipped once per worker; with
  several GPUs, one worker per GPU).
* :class:`RayExecutor`: a Ray cluster (``address="auto"``, ``"ray://host:10001"``) or a local Ray instance
  (``address=None``), tasks asking for CPUs and (fractions of) GPUs, a task lost with its node run again;
  needs ``pip install muxnet[ray]``.
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


def _init_worker(evaluator, threads: int, parent_pid: int, slot=None, gpus: int = 0) -> None:
    global _WORKER_EVALUATOR
    import torch

    die_with_parent(parent_pid)  # a kill -9 of the search must not leave workers running on
    torch.set_num_threads(threads)  # workers share the cores; one BLAS pool each
    if slot is not None and gpus > 1:  # each worker its own GPU: the i-th worker started takes GPU i mod count
        with slot.get_lock():
            index, slot.value = slot.value, slot.value + 1
        torch.cuda.set_device(index % gpus)
    _WORKER_EVALUATOR = evaluator


def _run_in_worker(task: EvalTask) -> EvalResult:
    return run_task(_WORKER_EVALUATOR, task)


def _may_use_gpu(evaluator) -> bool:
    """Whether ``evaluator`` trains and may train on a GPU (its ``device`` is ``auto`` or ``cuda...``)."""
    return str(getattr(evaluator, "device", "cpu")) != "cpu"


def _visible_gpus(evaluator) -> int:
    """CUDA devices this machine's workers would train on (0 for an evaluator that does not train, or trains on
    the CPU)."""
    if not _may_use_gpu(evaluator):
        return 0
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


class ProcessPoolExecutor:
    """Worker processes on this machine. With several GPUs (and a training evaluator whose device is ``auto`` or
    ``cuda``), the default is one worker per GPU, each worker on its own GPU; otherwise one per core."""

    name = "process"

    def __init__(self, evaluator, workers: int | None = None):
        gpus = _visible_gpus(evaluator)
        self.workers = workers or (gpus if gpus > 1 else available_cpus())
        threads = max(1, available_cpus() // self.workers)
        context = multiprocessing.get_context("spawn")  # forking a process that already ran torch can deadlock
        slot = context.Value("i", 0) if gpus > 1 else None
        self.pool = futures.ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker,
                                                initargs=(evaluator, threads, os.getpid(), slot, gpus))

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


class ClusterLost(RuntimeError):
    """Candidates kept losing their node; the search stops (nothing is recorded for them) and ``--resume``
    continues it once the cluster is back."""


def _lost_errors(ray) -> tuple[tuple[type, ...], tuple[type, ...]]:
    """Ray's errors for a task that died with its machine (retried, never the candidate's fault) and for a
    task whose worker process died (retried; after every attempt, the candidate's own doing)."""
    ex = ray.exceptions
    node = tuple(getattr(ex, n) for n in ("NodeDiedError", "LocalRayletDiedError", "ObjectLostError",
                                          "OwnerDiedError", "ObjectReconstructionFailedError", "RaySystemError")
                 if hasattr(ex, n))
    worker = tuple(getattr(ex, n) for n in ("WorkerCrashedError",) if hasattr(ex, n))
    return node, worker


class RayExecutor:
    """Candidates as Ray tasks, each asking for ``cpus_per_candidate`` CPUs and ``gpus_per_candidate`` GPUs
    (fractions share a GPU: 0.25 runs four candidates on one). ``gpus_per_candidate=None`` asks for one GPU when
    the cluster has GPUs and the evaluator may use one, none otherwise.

    A task lost with its node (preemption, a crash of the machine or its raylet) is submitted again, up to
    ``retries`` times, wherever the cluster has room; it is never recorded as a failed candidate. A task whose
    worker process crashed is retried as often, then recorded as failed (a candidate that kills its worker every
    time is broken). When a candidate's node is lost more often than that, :class:`ClusterLost` stops the
    search; the archive holds every finished evaluation and ``--resume`` continues.
    """

    name = "ray"

    def __init__(self, evaluator, address: str | None = None, workers: int | None = None,
                 gpus_per_candidate: float | None = None, cpus_per_candidate: float = 1.0, retries: int = 3,
                 log=None):
        try:
            import ray
        except ImportError:
            raise RuntimeError("the Ray executor needs Ray: pip install 'muxnet[ray]'") from None
        self.ray, self.retries, self.log = ray, retries, log or (lambda line: None)
        self._owns = not ray.is_initialized()
        if self._owns:
            kwargs = {"address": address} if address else {"num_cpus": workers or available_cpus()}
            ray.init(include_dashboard=False, log_to_driver=False, **kwargs)
        if gpus_per_candidate is None:
            has_gpus = ray.cluster_resources().get("GPU", 0) > 0
            gpus_per_candidate = 1.0 if has_gpus and _may_use_gpu(evaluator) else 0.0
        self.gpus_per_candidate, self.cpus_per_candidate = float(gpus_per_candidate), float(cpus_per_candidate)
        self.evaluator_ref = ray.put(evaluator)
        # max_retries=0: a lost task comes back here, so that it is retried by this loop's rules and logged.
        # max_calls=0: workers are kept from one candidate to the next (Ray's default for GPU tasks is a new
        # process each time, which pays torch's import and the data's set-up per candidate); the evaluator
        # hands its cached GPU memory back after each candidate instead.
        self.remote_task = ray.remote(num_cpus=self.cpus_per_candidate, num_gpus=self.gpus_per_candidate,
                                      max_retries=0, max_calls=0)(run_task)
        self.node_errors, self.worker_errors = _lost_errors(ray)

    def slots(self) -> int:
        """Candidates the cluster runs at once with these requests (its CPUs or GPUs, whichever is scarcer)."""
        resources = self.ray.cluster_resources()
        counts = [resources.get("CPU", 0) / self.cpus_per_candidate] if self.cpus_per_candidate else []
        if self.gpus_per_candidate:
            counts.append(resources.get("GPU", 0) / self.gpus_per_candidate)
        return max(1, int(min(counts))) if counts else 1

    def map_unordered(self, tasks: Sequence[EvalTask]) -> Iterator[EvalResult]:
        refs = {self.remote_task.remote(self.evaluator_ref, task): (task, 0) for task in tasks}
        while refs:
            done, _ = self.ray.wait(list(refs), num_returns=1)
            task, attempt = refs.pop(done[0])
            try:
                yield self.ray.get(done[0])
                continue
            except self.node_errors as err:
                if attempt >= self.retries:
                    raise ClusterLost(f"candidate {task.genome} lost its node {attempt + 1} times "
                                      f"({type(err).__name__}); the search stops here: every finished evaluation "
                                      "is archived, --resume continues it") from None
                reason, lost = "its node was lost", err
            except self.worker_errors as err:
                if attempt >= self.retries:
                    yield EvalResult(task.genome, "failed", None, f"its worker crashed on each of {attempt + 1} "
                                     f"attempts: {type(err).__name__}: {str(err).splitlines()[0]}")
                    continue
                reason, lost = "its worker crashed", err
            except Exception as err:  # noqa: BLE001 - anything else Ray raises fails this candidate only
                yield EvalResult(task.genome, "failed", None, f"ray task failed: {type(err).__name__}: {err}")
                continue
            self.log(f"candidate {task.genome}: {reason} ({type(lost).__name__}); submitted again "
                     f"(retry {attempt + 1} of {self.retries})")
            refs[self.remote_task.remote(self.evaluator_ref, task)] = (task, attempt + 1)

    def close(self) -> None:
        if self._owns:
            self.ray.shutdown()


def make_executor(name: str, evaluator, workers: int | None = None, ray_address: str | None = None, **ray_options):
    """The executor ``name``; ``ray_options`` (``gpus_per_candidate``, ``cpus_per_candidate``, ``retries``,
    ``log``) go to :class:`RayExecutor`."""
    if name == "inprocess":
        return InProcessExecutor(evaluator)
    if name == "process":
        return ProcessPoolExecutor(evaluator, workers)
    if name == "ray":
        return RayExecutor(evaluator, ray_address, workers, **ray_options)
    raise ValueError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")


__all__ = ["EXECUTORS", "ClusterLost", "InProcessExecutor", "ProcessPoolExecutor", "RayExecutor", "make_executor"]
