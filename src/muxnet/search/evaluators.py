"""Evaluators: how a candidate's error is measured, behind one small interface.

* :class:`ProxyTrainingEvaluator` trains the candidate for a few epochs and returns its held-out error (the
  paper's proxy: 5 epochs on a 50K-image ImageNet subset), on the worker's GPU when it has one.
* :class:`TableEvaluator` looks the error up in a CSV or SQLite table (tabular benchmarks, fast tests).
* :class:`SyntheticEvaluator` is a cheap deterministic surrogate for benchmarking the algorithms.

An evaluator is pickled to worker processes / Ray tasks, so it holds small descriptions (a data set's name or
directory, a table's rows), not open handles or pixels.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import math
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..models.spec import NetworkSpec
from .space import SearchSpace, parse_genome_key


class CandidateFailed(RuntimeError):
    """The candidate could not be evaluated (NaN loss, missing table entry, ...); it is recorded as failed."""


@dataclass(frozen=True)
class EvalTask:
    genome: str
    spec: dict  # NetworkSpec.to_dict(): plain data travels to workers cheaply
    params: int
    madds: int
    seed: int
    generation: int = 0


@dataclass
class EvalResult:
    genome: str
    status: str
    error: float | None
    message: str = ""
    duration: float = 0.0
    started: float = 0.0
    finished: float = 0.0
    extra: dict = field(default_factory=dict)


def candidate_seed(run_seed: int, genome: str) -> int:
    """A per-candidate seed that depends only on the run seed and the genome (same in a resumed run)."""
    digest = hashlib.sha256(f"{run_seed}:{genome}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def run_task(evaluator, task: EvalTask) -> EvalResult:
    """Evaluate one task and never raise: a failure (exception, NaN, out of memory) becomes a failed result."""
    started = time.time()
    clock = time.perf_counter()
    try:
        error = float(evaluator.evaluate(task))
        if not math.isfinite(error):
            raise CandidateFailed(f"the evaluator returned a non-finite error ({error})")
        status, message = "ok", ""
    except Exception as err:  # noqa: BLE001 - any failure of one candidate must not stop the search
        status, error, message = "failed", None, f"{type(err).__name__}: {err}"
    return EvalResult(task.genome, status, error, message, time.perf_counter() - clock, started, time.time())


# -- proxy training ------------------------------------------------------------------------------------------
DEVICES = ("auto", "cpu", "cuda")  # and cuda:N


def check_device(name: str | None) -> str:
    """``name`` as the search's ``--device`` setting (``auto``, ``cpu``, ``cuda`` or ``cuda:N``), checked before
    anything runs; whether the device exists is for each worker to find out (:func:`worker_device`)."""
    name = (name or "auto").strip().lower()
    kind, _, index = name.partition(":")
    if kind not in DEVICES or (index and (kind != "cuda" or not index.isdigit())):
        raise ValueError(f"device: expected auto, cpu, cuda or cuda:N, got {name!r}")
    return name


def worker_device(name: str | None = "auto"):
    """The device a worker trains on for the setting ``name``.

    ``auto`` is CUDA when this worker sees a GPU (the one a pool gave it with ``torch.cuda.set_device``, or the
    one Ray made visible), else the CPU. A CUDA device the worker cannot use (no CUDA build, a GPU a cluster
    node declared but does not have, an index beyond the visible ones) falls back to the CPU: on a mixed
    cluster a candidate must train where it landed rather than fail.
    """
    import torch

    name = check_device(name)
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        return torch.device("cpu")
    index = int(name.partition(":")[2]) if ":" in name else torch.cuda.current_device()
    return torch.device("cuda", index) if index < torch.cuda.device_count() else torch.device("cpu")


def train_candidate(spec: NetworkSpec, train, val, epochs: int, batch_size: int = 32, lr: float = 1e-2,
                    seed: int = 0, multi_label: bool = False, device: str | None = "cpu") -> float:
    """Train ``spec`` from scratch for ``epochs`` on ``train`` and return the error on ``val``.

    Reuses the training pipeline (``muxnet.train.train_and_evaluate``: the ``digits`` recipe's cosine schedule
    and gradient clipping) with AdamW, no warm-up and no label smoothing, which rank candidates best after a
    couple of epochs. A diverging candidate raises, so it is recorded as failed. ``device`` is a setting of
    :func:`worker_device`; on CUDA the step runs under AMP with channels-last tensors.
    """
    import torch

    from ..models.network import build_model
    from ..train import train_and_evaluate
    from ..train.recipes import load_recipe

    torch.manual_seed(seed)  # initial weights depend on the run seed and the genome only
    model = build_model(spec)
    recipe = load_recipe("digits", [("schedule.epochs", epochs), ("schedule.warmup_epochs", 0),
                                    ("data.batch_size", batch_size), ("training.seed", seed),
                                    ("training.label_smoothing", 0.0)])
    recipe["optimizer"].update(name="adamw", lr=lr, weight_decay=1e-4, nesterov=None)
    return train_and_evaluate(model, train, val, epochs=epochs, recipe=recipe, seed=seed,
                              device=worker_device(device), multi_label=multi_label)


class ProxyTrainingEvaluator:
    """Error after ``epochs`` of training on the training split of ``data``, measured on its validation split.

    ``data`` describes the data (:class:`muxnet.data.ProxyData`: a dataset name or directory, the image size,
    the subset, the cache): it is what travels to the workers, which build the datasets themselves (an embedded
    dataset is generated again, a directory's images are memory-mapped from the shared uint8 cache), so no
    worker is sent pixels and a node's workers share one copy of them. ``device`` is the workers' setting
    (:func:`worker_device`).
    """

    name = "train"

    def __init__(self, data, epochs: int = 1, batch_size: int = 64, lr: float = 3e-3, threads: int | None = None,
                 device: str | None = "auto"):
        if epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {epochs}")
        self.data = data
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.threads = threads
        self.device = check_device(device)

    def evaluate(self, task: EvalTask) -> float:
        import torch

        if self.threads:
            torch.set_num_threads(self.threads)
        splits = self.data.load()  # once per worker process: kept in a per-process cache
        spec = NetworkSpec.from_dict(task.spec)
        try:
            return train_candidate(spec, splits.train, splits.val, self.epochs, self.batch_size, self.lr,
                                   seed=task.seed, multi_label=splits.multi_label, device=self.device)
        finally:
            if torch.cuda.is_available():  # a worker kept for the next candidate may share its GPU with others
                torch.cuda.empty_cache()

    def config(self) -> dict:
        return {"evaluator": self.name, "loop": "train_and_evaluate(digits, adamw)", "epochs": self.epochs,
                "batch_size": self.batch_size, "lr": self.lr, "device": self.device, "data": self.data.describe()}


# -- table lookup --------------------------------------------------------------------------------------------
class TableEvaluator:
    """Errors looked up by genome key in a CSV or gzipped CSV (columns ``genome,error``) or an SQLite file (a table
    ``metrics(genome, error)``, or the ``evaluations`` table of a previous search's archive)."""

    name = "table"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no metrics table at {self.path}")
        self.table = self._read()

    def _read(self) -> dict[str, float]:
        if self.path.name.endswith((".csv", ".csv.gz")):  # .csv.gz: a stored tabular benchmark
            opener = gzip.open if self.path.suffix == ".gz" else open
            with opener(self.path, "rt", newline="") as handle:
                reader = csv.DictReader(handle)
                if not reader.fieldnames or not {"genome", "error"} <= set(reader.fieldnames):
                    raise ValueError(f"{self.path}: a metrics CSV needs the columns 'genome' and 'error'")
                rows = list(reader)
            try:
                return {r["genome"]: float(r["error"]) for r in rows if r["error"] not in ("", None)}
            except ValueError as err:
                raise ValueError(f"{self.path}: {err}") from None
        try:
            with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as db:
                tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                table = "metrics" if "metrics" in tables else "evaluations" if "evaluations" in tables else None
                if table is None:
                    raise ValueError(f"{self.path}: no 'metrics' or 'evaluations' table")
                rows = db.execute(f"SELECT genome, error FROM {table} WHERE error IS NOT NULL").fetchall()
        except sqlite3.DatabaseError as err:
            raise ValueError(f"{self.path}: not a readable SQLite metrics table ({err})") from None
        return {str(g): float(e) for g, e in rows}

    def evaluate(self, task: EvalTask) -> float:
        try:
            return self.table[task.genome]
        except KeyError:
            raise CandidateFailed(f"genome {task.genome} is not in {self.path.name}") from None

    def config(self) -> dict:
        return {"evaluator": self.name, "table": str(self.path.resolve()), "entries": len(self.table)}


# -- a cheap surrogate ---------------------------------------------------------------------------------------
class SyntheticEvaluator:
    """A deterministic stand-in for proxy training, for algorithm benchmarks and tests.

    Error falls with capacity (log params and log MAdds, with diminishing returns), is helped by spatial
    multiplexing and hurt by a large leave-out, plus genome-seeded noise; ``failure_rate`` makes that
    fraction of genomes fail (deterministically) to exercise the failure path. ``delay`` simulates cost.
    """

    name = "synthetic"

    def __init__(self, noise: float = 0.01, failure_rate: float = 0.0, delay: float = 0.0):
        self.noise, self.failure_rate, self.delay = noise, failure_rate, delay

    def evaluate(self, task: EvalTask) -> float:
        if self.delay:
            time.sleep(self.delay)
        rng = np.random.default_rng(candidate_seed(0, task.genome))
        if rng.random() < self.failure_rate:
            raise CandidateFailed("synthetic failure")
        capacity = 0.55 * math.log(task.params) + 0.45 * math.log(task.madds)
        error = 0.9 / (1.0 + math.exp(capacity - 13.5))
        values = SearchSpace().values(parse_genome_key(task.genome))
        error -= 0.004 * sum(1 for s in (2, 3) if values[f"stage{s}.normal.scales"])  # spatial multiplexing
        error += 0.012 * sum(values[f"stage{s}.normal.leave_out"] for s in (1, 2, 3, 4))
        return float(min(max(error + self.noise * rng.standard_normal(), 0.0), 1.0))

    def config(self) -> dict:
        return {"evaluator": self.name, "noise": self.noise, "failure_rate": self.failure_rate}


__all__ = ["CandidateFailed", "DEVICES", "EvalResult", "EvalTask", "ProxyTrainingEvaluator", "SyntheticEvaluator",
           "TableEvaluator", "candidate_seed", "check_device", "run_task", "train_candidate", "worker_device"]
