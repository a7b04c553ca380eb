"""Training networks with a full recipe, many at once and resumably: a search's picks after the search (the
paper retrains each target's best from scratch), and the baselines they are compared with.

A :class:`TrainJob` is one network (a spec file) and one seed, trained by ``muxnet train``'s loop into its own
run directory. :func:`train_jobs` runs jobs in parallel worker processes (one thread each: small networks use a
core better one per process than two threads per network) and is resumable job by job: a finished job (its
``summary.json``) is read back, an interrupted one (its ``last.pt``) continues bit for bit, so a killed batch
loses at most the epochs since each running job's last checkpoint. A :class:`TrainingRecords` file keeps what
each finished job measured, one line per job, so that an experiment spread over machines (whose run directories
do not travel) never trains the same network, seed and recipe twice.
"""

from __future__ import annotations

import concurrent.futures as futures
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..runtime import available_cpus, single_thread_pool


@dataclass(frozen=True)
class TrainJob:
    """One network trained once: ``spec`` a spec file (or zoo name), ``seed`` the training seed."""

    name: str
    spec: str
    seed: int
    run_dir: str


def _recipe(job: TrainJob, recipe: str | None, data: str | None, overrides: Sequence[str | tuple[str, Any]],
            threads: int):
    from ..train.recipes import build_recipe

    run_dir = Path(job.run_dir)
    if (run_dir / "last.pt").is_file():
        return build_recipe(resume=run_dir), True
    pairs = [("model.name", job.spec), ("training.seed", job.seed), ("output.dir", str(run_dir)),
             ("output.progress", False), ("training.threads", threads), *overrides]
    return build_recipe(recipe, data=data, overrides=pairs), False


def run_job(job: TrainJob, recipe: str | None = None, data: str | None = None,
            overrides: Sequence[str | tuple[str, Any]] = (), threads: int = 1) -> dict[str, Any]:
    """Train ``job`` (or read back its finished run) and return the run's summary."""
    from ..train import train

    summary_path = Path(job.run_dir) / "summary.json"
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text())
    else:
        recipe_dict, resume = _recipe(job, recipe, data, overrides, threads)
        summary = train(recipe_dict, resume=resume, log=lambda line: None)
    by_epoch = top1_by_epoch(Path(job.run_dir))
    return {**summary, "top1_by_epoch": by_epoch} if by_epoch else summary


def top1_by_epoch(run_dir: Path) -> list[float]:
    """The run's test top-1 (validation top-1 where the data has no test split) after each epoch, from its
    ``metrics.jsonl``: kept in the records so that when architectures separate during training, not only where
    they end, can be shown without the run directories."""
    from ..train.report import METRICS, read_metrics

    curve = [_heldout_top1(row) for row in read_metrics(run_dir / METRICS)]
    return [] if None in curve else curve


def _heldout_top1(metrics: dict[str, Any]) -> float | None:
    """One epoch's top-1 on the test split, or on validation where the data has none."""
    split = metrics.get("test") or metrics.get("val") or {}
    return float(split["top1"]) if "top1" in split else None


# Recipe settings added after records were kept, with the value that does what was done before they existed. At
# that value a setting is left out of the fingerprint, so adding one does not orphan every earlier record; a
# setting added later joins this list with its neutral value.
ADDED_SETTINGS = {("data", "train_renders"): "fixed", ("data", "difficulty"): "standard"}


class TrainingRecords:
    """Finished trainings as JSON lines (``path``): per job its fingerprint, name, seed and the part of its
    ``summary.json`` an experiment reads (test metrics of the last and best epochs, params, MAdds, wall time)
    and the test top-1 after every epoch (:func:`top1_by_epoch`).

    The fingerprint (:meth:`fingerprint`) is what decides the result: the spec's own text (not its path), the
    seed and the whole resolved recipe (its shipped defaults included, so a changed recipe is a new training);
    where the run is written and with how many threads are not part of it, nor are the settings of
    :data:`ADDED_SETTINGS` at the value that reproduces the trainings made before them.
    """

    KEPT = ("params", "madds", "wall_time_s", "last", "best", "epochs", "top1_by_epoch")

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.rows: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            for number, line in enumerate(self.path.read_text().splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    if not isinstance(row["summary"], dict):
                        raise TypeError("its summary is not a mapping")
                    self.rows[row["fingerprint"]] = row
                except (json.JSONDecodeError, KeyError, TypeError) as err:
                    raise ValueError(f"{self.path}:{number}: not a training record ({err})") from None

    @staticmethod
    def fingerprint(job: TrainJob, recipe: str | None = None, data: str | None = None,
                    overrides: Sequence[str | tuple[str, Any]] = ()) -> str:
        from ..train.recipes import build_recipe

        resolved = build_recipe(recipe, data=data, overrides=[("model.name", job.spec), ("training.seed", job.seed),
                                                              *overrides])
        resolved.pop("output", None)
        resolved["training"].pop("threads", None)
        for (section, name), neutral in ADDED_SETTINGS.items():
            if resolved.get(section, {}).get(name, neutral) == neutral:
                resolved.get(section, {}).pop(name, None)
        spec = Path(job.spec)
        resolved["model"]["name"] = spec.read_text() if spec.is_file() else job.spec
        text = json.dumps(resolved, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def get(self, fingerprint: str) -> dict[str, Any] | None:
        """The recorded summary of a finished training, or ``None``."""
        row = self.rows.get(fingerprint)
        return None if row is None else row["summary"]

    def add(self, fingerprint: str, job: TrainJob, summary: dict[str, Any]) -> None:
        row = {"fingerprint": fingerprint, "name": job.name, "seed": job.seed,
               "summary": {k: summary[k] for k in self.KEPT if k in summary}}
        self.rows[fingerprint] = row
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as fh:
            fh.write(json.dumps(row) + "\n")


def train_jobs(jobs: Iterable[TrainJob], recipe: str | None = None, data: str | None = None,
               overrides: Sequence[str | tuple[str, Any]] = (), workers: int | None = None,
               records: TrainingRecords | None = None) -> Iterator[tuple[TrainJob, dict[str, Any]]]:
    """Train every job and yield ``(job, summary)`` as each finishes (finished ones first, read back).

    ``recipe`` names the recipe (``None``: the one that follows ``data``; no data: the embedded default's), and
    ``overrides`` change it for every job alike; a job's own settings are its spec and seed. With one worker
    the jobs run here, one after the other. With ``records``, a job recorded there is not trained again (its
    recorded summary is yielded), and every job finished here is recorded.
    """
    jobs = list(jobs)
    prints = {j: records.fingerprint(j, recipe, data, overrides) for j in jobs} if records is not None else {}
    finished = {j: records.get(prints[j]) if records is not None else None for j in jobs}
    for job in jobs:
        if finished[job] is None and (Path(job.run_dir) / "summary.json").is_file():
            finished[job] = run_job(job)
            if records is not None:  # finished before it was recorded
                records.add(prints[job], job, finished[job])
    todo = [j for j in jobs if finished[j] is None]
    for job in jobs:
        if finished[job] is not None:
            yield job, finished[job]
    workers = min(workers or available_cpus(), len(todo)) if todo else 0
    if workers <= 1:
        for job in todo:
            summary = run_job(job, recipe, data, overrides, threads=1 if workers else available_cpus())
            if records is not None:
                records.add(prints[job], job, summary)
            yield job, summary
        return
    pool = single_thread_pool(workers)
    try:
        pending = {pool.submit(run_job, job, recipe, data, tuple(overrides), 1): job for job in todo}
        for future in futures.as_completed(pending):
            job, summary = pending[future], future.result()
            if records is not None:
                records.add(prints[job], job, summary)
            yield job, summary
    finally:
        pool.shutdown(cancel_futures=True)


def test_top1(summary: dict[str, Any]) -> float:
    """A finished run's test top-1 at its last epoch (what the recipe's whole schedule gives; the loop's best
    epoch is picked on validation, which a comparison of architectures must not also be tuned on)."""
    top1 = _heldout_top1(summary.get("last") or {})
    if top1 is None:
        raise ValueError(f"run {summary.get('run_dir')} has no test top-1")
    return top1


@dataclass(frozen=True)
class RetrainOptions:
    """What ``muxnet search --retrain`` trains after the search: each target's ``top_k`` picks, ``seeds`` times
    each, with the full recipe of the search's data (``overrides`` on top, e.g. ``schedule.epochs=30``)."""

    top_k: int = 1
    seeds: int = 1
    workers: int | None = None
    overrides: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.top_k < 1 or self.seeds < 1:
            raise ValueError(f"retrain: top_k and seeds must be at least 1, got {self.top_k} and {self.seeds}")


RETRAIN_DIR = "retrain"


def full_recipe(dataset: str, difficulty: str = "standard") -> tuple[str | None, str | None, list[tuple[str, Any]]]:
    """``(recipe, data, overrides)`` for :func:`train_jobs` that train on the data a search read (its
    ``dataset`` and ``difficulty``), as ``muxnet train`` would: an embedded dataset's own recipe, with the
    search's composition of the cluttered digits, or the recipe that follows a directory's layout."""
    from ..data import EMBEDDED
    from ..train.recipes import RECIPE_FOR_DATASET

    if dataset not in EMBEDDED:
        return None, dataset, []
    return RECIPE_FOR_DATASET[dataset], None, [("data.difficulty", difficulty)] if dataset == "cluttered" else []


def retrain_picks(out_dir: str | Path, summary: dict[str, Any], dataset: str, image_size: int,
                  options: RetrainOptions, log: Callable[[str], None] = print,
                  difficulty: str = "standard") -> dict[str, dict[str, Any]]:
    """Train the picks ``summary`` (a search's ``summary.json``) lists for each target, and return per pick
    (its spec path, e.g. ``top/target1_rank1.yaml``) the test top-1 of every seed and their mean and 95%
    interval (:func:`muxnet.runtime.statistics.mean_interval`).

    The recipe is the one ``muxnet train`` uses for ``dataset`` (an embedded dataset's own, at the search's
    ``difficulty``, or the one that follows a directory's layout; :func:`full_recipe`) at the search preset's
    ``image_size``; runs go to ``out_dir/retrain/<pick>_seed<s>/``
    and resume where a kill left them.
    """
    from ..runtime.statistics import mean_interval

    out_dir = Path(out_dir)
    jobs = []
    for entry in summary["best_per_target"]:
        for model in entry["models"][: options.top_k]:
            name = Path(model["spec"]).stem
            jobs += [TrainJob(name, str(out_dir / model["spec"]), seed,
                              str(out_dir / RETRAIN_DIR / f"{name}_seed{seed}")) for seed in range(options.seeds)]
    recipe, data, overrides = full_recipe(dataset, difficulty)
    overrides = [*overrides, ("data.image_size", image_size), *options.overrides]
    log(f"retraining {len(jobs)} runs ({options.top_k} per target x {options.seeds} seeds) with the "
        f"{'embedded ' + dataset if data is None else 'data'}'s full recipe into {out_dir / RETRAIN_DIR}")
    scores: dict[str, list[float]] = {}
    for job, run in train_jobs(jobs, recipe, data, overrides, options.workers):
        top1 = test_top1(run)
        scores.setdefault(job.name, []).append(top1)
        log(f"  {job.name} seed {job.seed}: test top-1 {top1:.2f} ({run['params'] / 1e6:.2f}M params, "
            f"{run['wall_time_s']:.0f} s)")
    results = {}
    for job in jobs:
        if job.name in results:
            continue
        interval = mean_interval(scores[job.name])
        spec = str(Path(job.spec).relative_to(out_dir))
        results[spec] = {"test_top1": scores[job.name], **{f"test_top1_{k}": v for k, v in interval.to_dict().items()},
                         "recipe": recipe or "follows the data", "runs": [str(Path(RETRAIN_DIR) / f"{job.name}_seed{s}")
                                                                         for s in range(options.seeds)]}
    return results


__all__ = ["ADDED_SETTINGS", "RETRAIN_DIR", "RetrainOptions", "TrainJob", "TrainingRecords", "full_recipe",
           "retrain_picks", "run_job", "test_top1", "top1_by_epoch", "train_jobs"]
