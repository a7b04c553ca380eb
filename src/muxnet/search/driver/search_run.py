"""``run_search``: the tri-objective search end to end, resumable after a crash or ``kill -9``.

The targets become sub-problems (:func:`~muxnet.search.decomposition.reference_directions`), the configured
scalarisation and algorithm come from their registries, and the loop only speaks the algorithm protocol
(:class:`~muxnet.search.algorithms.SearchAlgorithm`). The run directory holds ``archive.sqlite`` (every
evaluation, committed as it finishes), ``state.json`` (the algorithm's explicit state after the last finished
generation, written atomically) and, at the end, ``pareto.csv``, ``specs/`` (the non-dominated specs), ``top/``
(the best ``top_k`` specs per target by the scalarisation), ``pareto.png`` and ``summary.json``. Resuming
reloads the state, asks the algorithm for the same generation again (its random state is part of the state)
and takes every genome already in the archive from there, so no finished evaluation is repeated and the result
is the one an uninterrupted run gives.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...data.cluttered import DIFFICULTIES
from ...data.datasets import DEFAULT_DATASET, EMBEDDED
from ...runtime import atomic_write, refuse_existing_run
from ..algorithms import ALGORITHMS, SearchAlgorithm, create_algorithm
from ..archive import Archive, ArchiveError, Evaluation
from ..decomposition import SubProblems, Target, TargetError, format_value, parse_targets, reference_directions
from ..evaluators import EvalResult, EvalTask, candidate_seed
from ..executors import make_executor
from ..objectives import (
    BUILTIN_COSTS,
    DEFAULT_OBJECTIVES,
    MADDS,
    PARAMS,
    Complexity,
    ComplexityCache,
    Normaliser,
    Objective,
    ObjectiveError,
    latency_objective,
    parse_objectives,
)
from ..sampling import TargetedSampler
from ..scalarization import SCALARIZATIONS, Scalarization, create_scalarization
from ..space import SearchSpace, genome_key, parse_genome_key
from .outputs import write_outputs

STATE_VERSION = 2  # 2: algorithms behind one protocol, the scalarisation in the configuration
ARCHIVE_NAME = "archive.sqlite"
STATE_NAME = "state.json"
# Three preferences spread over the small preset's reachable range (0.41M..2.04M params, 1.3M..8.6M MAdds).
TARGET_MODES = ("near", "at_most")
# Embedded datasets whose proxy trains on a seeded subset unless --max-train-samples says otherwise: the
# cluttered digits' 10K training images would make a candidate cost 8x one on the digits (1.26K images).
PROXY_SUBSETS = {"cluttered": 1250}
DEFAULT_TARGETS = "params=0.6M,madds=2M;params=1.0M,madds=3.5M;params=1.5M,madds=5.5M"


@dataclass(frozen=True)
class SearchConfig:
    """Everything that decides the result. A resumed run must have the same configuration; the executor
    and the number of workers are not part of it (they change where, not what, is computed)."""

    preset: str = "small"
    targets: str = DEFAULT_TARGETS
    algorithm: str = "moead"
    population: int = 9
    generations: int = 3
    evaluator: str = "train"  # "train", "synthetic" or "table:PATH"
    # an embedded dataset's name ("cluttered", the default, or "digits") or a data directory (class folders, ...)
    dataset: str = DEFAULT_DATASET
    difficulty: str = "standard"  # the cluttered digits' composition (muxnet.data.cluttered.DIFFICULTIES)
    skip_bad_images: bool = False
    epochs: int = 2
    batch_size: int = 32
    lr: float = 1e-2
    max_train_samples: int | None = None  # None: the dataset's proxy subset (PROXY_SUBSETS), else every image
    seed: int = 0
    objectives: str = DEFAULT_OBJECTIVES  # error and one or two costs: params, madds, latency or a custom one
    latency_table: str | None = None  # the latency look-up table's file; None: the per-user cache
    latency_threads: int = 1  # intra-op threads the latency table is measured with
    scalarization: str = "asf"  # the target as aspiration point; "pbi" is the paper's
    theta: float = 5.0  # PBI's penalty
    rho: float = 1e-2  # the ASF's augmentation
    tolerance: float = 0.2  # the ASF's relative params/MAdds deviation worth one unit (and the reachability check)
    error_scale: float = 1.0  # the ASF's error worth one unit
    band: float = 0.05  # the ASF's relative deviation that costs nothing (the most accurate model that close wins)
    target_mode: str = "near"  # the ASF's reading of a target's costs: "near" (about) or "at_most" (a budget)
    restrict_to_table: bool = False  # search only the sub-space a table evaluator's genomes span
    spread: float = 0.05
    top_k: int = 5

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm: choose one of {', '.join(sorted(ALGORITHMS))}, got {self.algorithm!r}")
        if self.scalarization not in SCALARIZATIONS:
            raise ValueError(f"scalarization: choose one of {', '.join(sorted(SCALARIZATIONS))}, "
                             f"got {self.scalarization!r}")
        for name in ("population", "epochs", "batch_size", "top_k", "latency_threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1, got {getattr(self, name)}")
        if self.generations < 0:
            raise ValueError(f"generations: must be >= 0, got {self.generations}")
        if not (self.evaluator in ("train", "synthetic") or self.evaluator.startswith("table:")):
            raise ValueError(f"evaluator: choose 'train', 'synthetic' or 'table:PATH', got {self.evaluator!r}")
        uses_latency = "latency" in [n.strip().lower() for n in self.objectives.split(",")]
        for name, unset in (("latency_table", None), ("latency_threads", 1)):
            if getattr(self, name) != unset and not uses_latency:
                raise ValueError(f"{name}: only used with latency among the objectives, got objectives "
                                 f"{self.objectives!r}")
        if self.target_mode not in TARGET_MODES:
            raise ValueError(f"target_mode: choose one of {', '.join(TARGET_MODES)}, got {self.target_mode!r}")
        if self.target_mode != "near" and self.scalarization != "asf":
            raise ValueError(f"target_mode: {self.target_mode!r} is a setting of the 'asf' scalarization, "
                             f"not of {self.scalarization!r}")
        if self.restrict_to_table and not self.evaluator.startswith("table:"):
            raise ValueError(f"restrict_to_table: needs a 'table:PATH' evaluator, got {self.evaluator!r}")
        if self.difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty: choose one of {', '.join(DIFFICULTIES)}, got {self.difficulty!r}")
        if self.difficulty != "standard" and self.dataset != "cluttered":
            raise ValueError(f"difficulty: a setting of the embedded cluttered digits, not of {self.dataset!r}")

    @property
    def budget(self) -> int:
        """Models proposed: the initial population plus one child per sub-problem per generation."""
        return self.population * (self.generations + 1)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class SearchResult:
    out_dir: Path
    evaluations: int
    failed: int
    generations: int
    seconds: float
    pareto: list[dict]
    best_per_target: list[dict]


class SearchSetupError(ValueError):
    """The search cannot start: bad targets, an occupied or mismatched run directory, missing data."""


def _diff(old: dict, new: dict) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys)


def _space(config: SearchConfig) -> SearchSpace:
    """The preset's whole space, or with ``restrict_to_table`` the sub-space the table's genomes span (a
    tabular benchmark enumerates a few genes; the search must not propose genomes the table lacks)."""
    if not config.restrict_to_table:
        return SearchSpace(config.preset)
    from ..evaluators import TableEvaluator

    table = TableEvaluator(config.evaluator[len("table:"):])
    try:
        return SearchSpace.covering([parse_genome_key(k) for k in table.table], config.preset)
    except ValueError as err:
        raise SearchSetupError(f"{table.path}: {err}") from None


def proxy_data(config: SearchConfig, space: SearchSpace, cache_dir: str | None = None):
    """The description of ``config``'s data that proxy training's workers receive
    (:class:`~muxnet.data.proxy.ProxyData`: a dataset name, or a directory and its cache, at the preset's size)."""
    from ...data import detect_dataset
    from ...data.proxy import ProxyData
    from ...models.network import default_pretrained_cfg

    channels, height, width = space.preset.input_size
    if channels != 3 or height != width:
        raise SearchSetupError(f"preset {space.preset.name}: proxy training reads square RGB images, "
                               f"not {space.preset.input_size}")
    # every candidate of a preset shares one data config (interpolation, crop, mean/std), as muxnet train uses
    data_config = default_pretrained_cfg(space.decode(space.sample(np.random.default_rng(0))))
    embedded = config.dataset in EMBEDDED
    name = config.dataset if embedded else detect_dataset(config.dataset)
    return ProxyData.create(name, None if embedded else config.dataset, height, data_config, seed=config.seed,
                            max_train_samples=config.max_train_samples or PROXY_SUBSETS.get(config.dataset),
                            skip_bad_images=config.skip_bad_images, difficulty=config.difficulty,
                            cache_dir=cache_dir)


def _build_evaluator(config: SearchConfig, space: SearchSpace, out_dir: Path, device: str | None = "auto",
                     cache_dir: str | None = None):
    """The configured evaluator and the number of classes its data has. Proxy training gets a description of
    the data (:func:`proxy_data`), prepared here once (a directory's uint8 cache written), from which each
    worker builds its datasets."""
    from ..evaluators import ProxyTrainingEvaluator, SyntheticEvaluator, TableEvaluator

    classes = space.preset.num_classes
    if config.evaluator == "synthetic":
        return SyntheticEvaluator(), classes
    if config.evaluator.startswith("table:"):
        return TableEvaluator(config.evaluator[len("table:"):]), classes
    data = proxy_data(config, space, cache_dir)
    if config.skip_bad_images:
        out_dir.mkdir(parents=True, exist_ok=True)  # for bad_images.txt
    meta = data.prepare(out_dir)
    return ProxyTrainingEvaluator(data, config.epochs, config.batch_size, config.lr, device=device), meta["num_classes"]


def _write_state(path: Path, payload: dict) -> None:
    atomic_write(path, json.dumps(payload))  # a kill leaves the old state or the new one, never half of one


def _cost_objectives(config: SearchConfig, custom: Sequence[Objective], latency_table, rebuild: bool):
    """The search's cost objectives in ``config.objectives``' order, and the latency table if latency is one."""
    custom = list(custom)
    for objective in custom:
        if not isinstance(objective, Objective):
            raise ObjectiveError(f"objectives: expected muxnet.search.objectives.Objective, got {objective!r}")
        if objective.name in BUILTIN_COSTS:
            raise ObjectiveError(f"objectives: {objective.name} is built in; give your objective another name")
    by_name = {o.name: o for o in custom}
    names = parse_objectives(config.objectives, list(by_name))
    unused = [n for n in by_name if n not in names]
    if unused:
        raise ObjectiveError(f"objectives: the custom objective {unused[0]} is not in --objectives "
                             f"{config.objectives!r}; add it or leave it out")
    table = None
    if (latency_table is not None or rebuild) and "latency" not in names:
        raise ObjectiveError(f"objectives: a latency table is given but latency is not among the objectives "
                             f"{config.objectives!r}")
    if "latency" in names:
        from ...profiling.latency import LatencyTable

        table = latency_table or LatencyTable(config.latency_table, config.latency_threads, rebuild=rebuild)
        by_name["latency"] = latency_objective(table)
    by_name.update(params=PARAMS, madds=MADDS)
    return names, [by_name[n] for n in names[1:]], table


def _validate_latency(table, space: SearchSpace, config: SearchConfig, log) -> dict:
    """The table against a few whole networks (the space's extremes and three random genomes), measured now,
    before any worker runs; logged and kept for ``summary.json``."""
    rng = np.random.default_rng(config.seed)
    genomes = [*space.extreme_genomes(), *(space.sample(rng) for _ in range(3))]
    validation = table.validate([space.decode(g) for g in genomes])
    table.save()
    log(f"{validation.summary()} ({len(table)} table entries in {table.path}, {table.measured} measured now)")
    return {**table.describe(), "validation": validation.to_dict()}


@dataclass(frozen=True)
class SearchProblem:
    """What a configuration asks of the search: objective vectors normalised over the space, one group of
    sub-problems around each target, and the scalarisation that ranks models for a sub-problem. A run and
    anything that scores models afterwards (the benchmarks' table optimum) build it the same way."""

    normaliser: Normaliser
    subproblems: SubProblems
    scalarization: Scalarization

    def target_scores(self, F: np.ndarray) -> list[np.ndarray]:
        """For each target, the scalarised value of every row of ``F`` (normalised objectives; lower is better)."""
        return [self.scalarization(F, w, self.subproblems.ideal) for w in self.subproblems.target_weights()]


def build_problem(config: SearchConfig, space: SearchSpace, complexity: ComplexityCache,
                  targets: Sequence[Target]) -> SearchProblem:
    """The :class:`SearchProblem` of ``config`` over ``space`` (targets checked against the space's range)."""
    normaliser = Normaliser.for_space(space, complexity)
    normalised = np.stack([normaliser.check_target(t, i) for i, t in enumerate(targets)])
    per_target = config.population // len(targets)
    if per_target < 2:
        raise SearchSetupError(f"population: {config.population} gives fewer than 2 sub-problems for each of "
                               f"the {len(targets)} targets; use at least {2 * len(targets)}")
    subproblems = reference_directions(normalised, per_target, config.spread)
    scalarization = create_scalarization(config.scalarization, theta=config.theta, rho=config.rho,
                                         tolerance=config.tolerance, error_scale=config.error_scale, band=config.band,
                                         at_most=config.target_mode == "at_most",
                                         low=normaliser.low, span=normaliser.span)
    return SearchProblem(normaliser, subproblems, scalarization)


def run_search(config: SearchConfig, out_dir: str | Path, resume: bool = False, executor: str = "inprocess",
               workers: int | None = None, ray_address: str | None = None, evaluator=None,
               log: Callable[[str], None] = print, objectives: Sequence[Objective] = (),
               latency_table=None, rebuild_latency_table: bool = False, device: str | None = "auto",
               cache_dir: str | None = None, gpus_per_candidate: float | None = None,
               cpus_per_candidate: float = 1.0, retries: int = 3, retrain=None) -> SearchResult:
    """Run (or resume) a search into ``out_dir``; see the module docstring for what it writes.

    ``objectives`` are custom cost objectives (:class:`~muxnet.search.objectives.Objective`) that
    ``config.objectives`` names; ``latency_table`` a :class:`~muxnet.profiling.latency.LatencyTable` to use
    instead of the one at ``config.latency_table`` (``rebuild_latency_table``: measure that one anew).
    Like the executor, these say where candidates run, not what the search computes: ``device`` (``auto``: a
    worker's GPU when it has one), ``cache_dir`` (the proxy data's uint8 cache), and for Ray the resources each
    candidate asks for and the ``retries`` of a candidate whose node was lost.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    archive_path, state_path = out_dir / ARCHIVE_NAME, out_dir / STATE_NAME
    if resume and not archive_path.exists():
        raise SearchSetupError(f"--resume: {out_dir} holds no search archive ({ARCHIVE_NAME})")
    if not resume:
        refuse_existing_run(out_dir, [ARCHIVE_NAME], "a search",
                            "pass --resume to continue it or choose another --output (nothing was changed)",
                            SearchSetupError)
    if evaluator is None and config.evaluator == "train" and config.dataset not in EMBEDDED:
        from ...data import detect_dataset

        detect_dataset(config.dataset)  # a directory no reader knows fails now, not after the latency table
    archived: list[Evaluation] = []
    if resume:  # check before building anything heavy
        try:
            with Archive(archive_path) as old:
                stored = old.get_meta("config")
                archived = old.all()
        except ArchiveError as err:
            raise SearchSetupError(str(err)) from None
        stored = _with_new_settings(stored)
        _check_format(out_dir, stored or {}, config, state_path)
        if stored != config.to_dict():
            raise SearchSetupError(f"--resume: {out_dir} was made by a different configuration "
                                   f"({_diff(stored or {}, config.to_dict())})")

    if retrain is not None:
        _check_retrain(config, retrain)
    names, costs, table = _cost_objectives(config, objectives, latency_table, rebuild_latency_table)
    space = _space(config)
    targets = parse_targets(config.targets, names)
    complexity = ComplexityCache(space, costs)
    for row in archived:  # a resumed run neither counts nor times an archived genome again
        if row.params is not None:
            complexity.seed(row.genome, row.params, row.madds, row.other_costs)
    problem = build_problem(config, space, complexity, targets)
    normaliser, subproblems, scalarization = problem.normaliser, problem.subproblems, problem.scalarization
    sampler = TargetedSampler(space, complexity, normaliser.low, normaliser.span)
    _check_reachable(sampler, targets, config.tolerance)
    extra = {"objectives": list(names)}
    if table is not None:
        extra["latency_table"] = _validate_latency(table, space, config, log)

    num_classes = space.preset.num_classes
    if evaluator is None:
        evaluator, num_classes = _build_evaluator(config, space, out_dir, device, cache_dir)
    if num_classes != space.preset.num_classes:
        space = SearchSpace(dataclasses.replace(space.preset, num_classes=num_classes),
                            bounds=(space.lower, space.upper))

    algorithm = create_algorithm(config.algorithm, sampler, subproblems, scalarization, config.budget, config.seed)

    out_dir.mkdir(parents=True, exist_ok=True)
    archive = Archive(archive_path)
    try:
        if resume:
            if state_path.exists():
                try:
                    state = json.loads(state_path.read_text())
                    if state.get("version") != STATE_VERSION:
                        raise ValueError(f"state version {state.get('version')!r}, expected {STATE_VERSION}")
                    algorithm.load_state_dict(state["algorithm"])
                except (ValueError, KeyError, TypeError) as err:
                    raise SearchSetupError(f"{state_path}: unreadable search state ({err})") from None
            log(f"resuming {out_dir}: {len(archive)} evaluations archived, generation {algorithm.generation}")
        else:
            archive.set_meta("config", config.to_dict())
            archive.set_meta("normaliser", normaliser.to_dict())
        ray_options = dict(gpus_per_candidate=gpus_per_candidate, cpus_per_candidate=cpus_per_candidate,
                           retries=retries, log=log) if executor == "ray" else {}
        runner = make_executor(executor, evaluator, workers, ray_address, **ray_options)
        try:
            _loop(config, space, algorithm, archive, runner, complexity, normaliser, subproblems, scalarization,
                  targets, state_path, log, table)
        finally:
            runner.close()
        rows = archive.all()
    finally:
        archive.close()
        if table is not None:
            table.save()
    summary = write_outputs(out_dir, rows, space, normaliser, subproblems, scalarization, targets, config, log,
                            extra)
    if retrain is not None and summary["best_per_target"]:
        from ..retrain import retrain_picks

        retrained = retrain_picks(out_dir, summary, config.dataset, space.preset.input_size[-1], retrain, log,
                                  config.difficulty)
        summary = write_outputs(out_dir, rows, space, normaliser, subproblems, scalarization, targets, config, log,
                                extra, retrained)
    seconds = time.perf_counter() - started
    failed = sum(1 for r in rows if not r.ok)
    log(f"done: {len(rows)} evaluations ({failed} failed) in {seconds:.0f} s; outputs in {out_dir}")
    return SearchResult(out_dir, len(rows), failed, algorithm.generation, seconds, summary["pareto"],
                        summary["best_per_target"])


def _check_retrain(config: SearchConfig, retrain) -> None:
    """Refuse, before the search, a retraining that could not run after it: a search that trains nothing to
    retrain on (a table or synthetic evaluator) or recipe overrides the data's recipe does not accept."""
    from ...train.recipes import build_recipe
    from ..retrain import full_recipe

    if config.evaluator != "train":
        raise SearchSetupError(f"--retrain: the picks of a search with --evaluator {config.evaluator} have no "
                               "data to be retrained on; retrain them with muxnet train --model top/<pick>.yaml")
    recipe, data, overrides = full_recipe(config.dataset, config.difficulty)
    build_recipe(recipe, data, overrides=[*overrides, *retrain.overrides])


def recorded_config(out_dir: str | Path) -> dict | None:
    """The configuration (``SearchConfig.to_dict()``) the search in ``out_dir`` was started with, or ``None`` when
    ``out_dir`` holds no search: what ``muxnet search --resume DIR`` continues, as ``muxnet train --resume`` takes
    the run's recipe, so a resume need not repeat the flags the run was started with."""
    path = Path(out_dir) / ARCHIVE_NAME
    if not path.is_file():
        return None
    try:
        with Archive(path) as archive:
            return _with_new_settings(archive.get_meta("config"))
    except ArchiveError as err:
        raise SearchSetupError(str(err)) from None


def _check_reachable(sampler: TargetedSampler, targets: list[Target], tolerance: float) -> None:
    """Refuse, before any training, a target no genome comes within ``tolerance`` of, naming the closest."""
    names = sampler.complexity.names
    for i, target in enumerate(targets):
        goal = [target[n] for n in names]
        genome, distance = sampler.closest(goal, good_enough=tolerance)
        if distance > tolerance:
            found = sampler.complexity.vector(genome)
            point = ", ".join(f"{n}={format_value(n, v)}" for n, v in zip(names, found))
            raise TargetError(
                f"targets[{i}] {target.label()}: no genome of the space comes within {tolerance:.0%} of it; "
                f"the closest found has {point} ({distance:.0%} away)")


def raw_objectives(row: Evaluation, names: Sequence[str]) -> list[float]:
    """An archive row's objective vector in raw units: error, then each cost of ``names``."""
    return [row.error, *(row.cost(n) for n in names)]


def _loop(config: SearchConfig, space: SearchSpace, algorithm: SearchAlgorithm, archive: Archive, runner,
          complexity: ComplexityCache, normaliser: Normaliser, subproblems: SubProblems,
          scalarization: Scalarization, targets: list[Target], state_path: Path, log, table=None) -> None:
    loop_start, proposed_before = time.perf_counter(), algorithm.proposed
    while not algorithm.done:
        generation = algorithm.generation
        genomes = algorithm.ask()
        screened = getattr(algorithm, "screened", {})  # a surrogate's predictions for the genomes it picked
        tasks, seen = [], set()
        for genome in genomes:
            key = genome_key(genome)
            if key in seen or key in archive:  # duplicates are never evaluated twice
                continue
            seen.add(key)
            spec = space.decode(genome)
            cost = complexity(genome)  # a new latency table entry is timed here, while no worker runs
            tasks.append(EvalTask(key, spec.to_dict(), cost.params, cost.madds,
                                  candidate_seed(config.seed, key), generation))
        if table is not None:
            table.save()
        by_key = {t.genome: t for t in tasks}
        for result in runner.map_unordered(tasks):
            task = by_key[result.genome]
            genome = parse_genome_key(task.genome)
            _record(archive, task, result, complexity(genome), screened.get(genome))
        F = np.full((len(genomes), len(normaliser.objectives)), np.inf)
        for i, genome in enumerate(genomes):
            row = archive.get(genome_key(genome))
            if row is not None and row.ok:
                F[i] = normaliser(*raw_objectives(row, normaliser.names))
        algorithm.tell(genomes, F)
        _write_state(state_path, {"version": STATE_VERSION, "algorithm": algorithm.state_dict(),
                                  "evaluations": len(archive)})
        seconds_per_proposal = (time.perf_counter() - loop_start) / max(1, algorithm.proposed - proposed_before)
        log(_progress(config, algorithm, archive, normaliser, subproblems, scalarization, targets,
                      seconds_per_proposal))


def _record(archive: Archive, task: EvalTask, result: EvalResult, cost: Complexity,
            screened: dict | None = None) -> None:
    others = json.dumps(dict(cost.others)) if cost.others else None
    predicted = None if screened is None else screened["predicted_error"]
    predictor = None if screened is None else json.dumps({k: v for k, v in screened.items() if k != "predicted_error"})
    archive.add(Evaluation(task.genome, result.status, result.error, task.params, task.madds, result.message,
                           result.duration, task.seed, task.generation, result.started, result.finished, others,
                           predicted, predictor))


def _progress(config: SearchConfig, algorithm: SearchAlgorithm, archive: Archive, normaliser: Normaliser,
              subproblems: SubProblems, scalarization: Scalarization, targets: list[Target],
              seconds_per_proposal: float) -> str:
    rows = [r for r in archive.all() if r.ok]
    parts = []
    if rows:
        F = normaliser.normalise_many([raw_objectives(r, normaliser.names) for r in rows])
        problem = SearchProblem(normaliser, subproblems, scalarization)
        for target, scores in zip(targets, problem.target_scores(F)):
            best = rows[int(np.argmin(scores))]
            values = " ".join(format_value(n, best.cost(n)) for n in normaliser.names)
            parts.append(f"[{target.label()}] err {best.error:.3f} {values} {scalarization.name} {scores.min():.3f}")
    failed = sum(1 for r in archive.all() if not r.ok)
    eta = max(0, config.budget - algorithm.proposed) * seconds_per_proposal
    return (f"step {algorithm.generation}  proposed {algorithm.proposed}/{config.budget}  evals {len(archive)} "
            f"({failed} failed)  ETA {eta / 60:.1f} min  " + "  ".join(parts)
            + (f"  {algorithm.progress_note}" if hasattr(algorithm, "progress_note") else ""))


def _with_new_settings(stored: dict | None) -> dict | None:
    """A recorded configuration with the settings added since it was written, at their defaults: a new setting's
    default is what the search did before it existed (``difficulty``: the standard composition), so such a run
    resumes; a setting it recorded that no longer exists still refuses it (:func:`_check_format`)."""
    if stored is None:
        return None
    return {**{k: v for k, v in SearchConfig().to_dict().items() if k not in stored}, **stored}


def _check_format(out_dir: Path, stored: dict, config: SearchConfig, state_path: Path) -> None:
    """Refuse, in one line, to resume a run written by an earlier version of the search."""
    reasons = []
    renamed = sorted(set(stored) ^ set(config.to_dict()))
    if renamed:
        reasons.append(f"settings {', '.join(renamed)} are new or gone")
    try:
        version = json.loads(state_path.read_text()).get("version") if state_path.exists() else None
    except (ValueError, AttributeError):
        version = None  # an unreadable state is reported when it is loaded
    if version not in (None, STATE_VERSION):
        reasons.append(f"state version {version!r}, this one reads {STATE_VERSION}")
    if reasons:
        raise SearchSetupError(f"--resume: {out_dir} was written by an earlier version of the search "
                               f"({'; '.join(reasons)}) and cannot be continued; start a new run in another --output")


__all__ = ["DEFAULT_TARGETS", "SearchConfig", "SearchProblem", "SearchResult", "SearchSetupError", "build_problem",
           "recorded_config", "run_search"]
