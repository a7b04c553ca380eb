"""``muxnet ablate``: every member of a figure trained with one recipe over several seeds, resumable run by run.

A sweep directory holds

* ``ablation.json``: the plan, written before the first run (figure, the resolved recipe every member shares,
  seeds, and per member its adapted spec, input size, params, MAdds and run directory); ``--resume`` reads it;
* ``specs/<member>.yaml``: each member's spec adapted to the data's input size (:func:`for_input_size`);
* ``runs/<member>/seed<S>/``: one ``muxnet train`` run directory per member and seed (the one training loop);
* ``summary.json`` (rewritten after every finished run, ``complete`` once all are), ``figure.png`` at the end.

Runs go seed by seed (every member's first seed, then every member's second, ...), so a sweep stopped halfway
already holds a whole figure over fewer seeds. ``workers`` trains that many runs at once, each in its own process
on one thread (a small network uses a core better so than with more threads; on a GPU the processes share it).
``members`` trains part of a figure now (the cheap members first): the plan always holds the whole figure, so a
later ``--resume`` trains the rest, and the summary reports whatever has finished.

A finished run (its ``summary.json`` exists, or, its directory gone, the sweep's ``summary.json`` records it) is
read, never retrained; a run killed mid-way resumes from its ``last.pt``, which the loop makes bit-exact on CPU,
so a killed and resumed sweep ends with the numbers of an uninterrupted one. Members that are the same network at
the same input size (MobileNetV2 at ``l = 0``, ``w = 1.0`` and full resolution; MixConv ``{3, 5}`` under the
equal and the exponential partition, which both halve an even width) share one run per seed.

Every member trains with the same recipe: the one ``muxnet train`` uses without arguments (its embedded default
task), with ``--data`` swapped in when given; only ``model.name``, ``training.seed``, ``output.dir`` and, for a
resolution member, ``data.image_size`` differ between runs. The accuracy of a run is its final epoch's test top-1
(no checkpoint is picked, so no split is used twice).
"""

from __future__ import annotations

import concurrent.futures as futures
import fnmatch
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..layers.mixconv import MixConv
from ..models import resolve_spec
from ..models.ablations import for_input_size
from ..models.network import build_model, default_pretrained_cfg
from ..models.spec import NetworkSpec
from ..profiling import profile_spec
from ..runtime import atomic_write, refuse_existing_run, single_thread_pool
from ..train import build_data, build_recipe
from ..train.recipes import apply_overrides, validate_recipe
from .figures import Figure, get_figure
from .report import PLOT, SUMMARY, summarize, write_outputs

PLAN = "ablation.json"
PLAN_VERSION = 1


class AblationError(ValueError):
    """An ablation cannot start or resume as asked; the message says why."""


@dataclass
class AblationConfig:
    """What a ``muxnet ablate`` command line asks for (``overrides``: ``section.key=value`` strings or
    ``(key, value)`` pairs applied to the shared recipe, as ``muxnet train --set``)."""

    figure: str | None = None
    output: str | None = None
    seeds: int | None = None  # None: 3, or on resume the plan's
    seed: int | None = None  # the first seed (None: 0, or on resume the plan's)
    recipe: str | None = None
    data: str | None = None
    dataset: str | None = None
    overrides: Sequence[Any] = field(default_factory=list)
    device: str | None = None
    progress: bool = True  # progress bars of each run (not part of the plan: a resume may change it)
    members: Sequence[str] = ()  # name patterns: train only these members now (not part of the plan either)
    workers: int = 1  # runs trained at once, each in its own process on one thread (not part of the plan)


DEFAULT_SEEDS = 3


def shared_recipe(config: AblationConfig) -> dict[str, Any]:
    """The one recipe of the sweep: ``--recipe``, or the one ``muxnet train`` reads without arguments (so the
    default task is defined in one place), with the data and overrides of the command line."""
    name = config.recipe or build_recipe()["recipe"]
    pairs: list[Any] = list(config.overrides)
    if config.device:
        pairs.append(("training.device", config.device))
    if not config.progress:
        pairs.append(("output.progress", False))
    recipe = build_recipe(name, config.data, config.dataset, None, pairs)
    if recipe["model"]["pretrained"]:
        raise AblationError(f"recipe model.pretrained: {recipe['model']['pretrained']!r}; ablation members are "
                            "trained from scratch (drop it with --set model.pretrained=null)")
    return recipe


def network_key(spec: NetworkSpec, image_size: int) -> str:
    """Two members with this key train the same network on the same inputs, so one run serves both.

    The channel partition of mixed kernels is keyed by the channel groups it builds, not by its name: MixConv
    ``{3, 5}`` splits an even width in two equal halves under either partition, so MixNet's exponential ``{3..5}``
    point is its equal ``{3..5}`` point, as ``{3}`` is a vanilla 3x3 on every line."""
    layout = spec.to_dict()
    for stage in layout["stages"]:
        for block in stage:
            block.pop("partition", None)
    with torch.device("meta"):
        model = build_model(spec)
    groups = [(m.in_splits, m.out_splits) for m in model.modules() if isinstance(m, MixConv)]
    return json.dumps({**layout, "name": None, "size": image_size, "mixed_groups": groups}, sort_keys=True)


def plan_sweep(figure: Figure, recipe: dict[str, Any], seeds: list[int]) -> dict[str, Any]:
    """The plan of a sweep: reads the data once (a bad directory fails here, before any work), adapts every
    member to the data's size and classes, profiles it at the size it trains at, and names its run directory."""
    base = int(recipe["data"]["image_size"])
    members, specs, runs = [], {}, {}
    for member in figure.members:
        spec, _ = resolve_spec(member.model)
        specs[member.name] = for_input_size(spec, base).replace(name=member.name)
    first = next(iter(specs.values()))
    splits = build_data(recipe["data"], default_pretrained_cfg(first))
    if splits.multi_label:
        raise AblationError(f"data {recipe['data']['dataset']!r} is multi-label; an ablation compares top-1")
    if splits.test is None:
        raise AblationError(f"data {recipe['data']['dataset']!r} has no test split to report")
    for member in figure.members:
        size = member.image_size(base)
        spec = specs[member.name] = specs[member.name].replace(num_classes=splits.num_classes)
        counted = profile_spec(spec, (spec.in_channels, size, size))
        run = runs.setdefault(network_key(spec, size), f"runs/{member.name}")
        lines = [line.name for line in figure.lines if any(m.name == member.name for m in line.members)]
        members.append({"name": member.name, "model": member.model, "label": member.label, "lines": lines,
                        "image_size": size, "params": counted.params, "madds": counted.madds,
                        "spec": f"specs/{member.name}.yaml", "run": run})
    return {"version": PLAN_VERSION, "figure": figure.name, "description": figure.description,
            "recipe": recipe, "seeds": seeds, "dataset": recipe["data"]["dataset"],
            "num_classes": splits.num_classes, "image_size": base, "members": members,
            "_specs": specs}


def _check_output(output: Path, resume: bool) -> None:
    if resume:
        if not (output / PLAN).is_file():
            raise AblationError(f"cannot resume {output}: it has no {PLAN} (is it a muxnet ablate directory?)")
    else:
        refuse_existing_run(output, (PLAN, SUMMARY), "an ablation",
                            f"resume it (--resume {output}) or choose another --output", AblationError)


def _resumed_plan(config: AblationConfig, output: Path, figure: Figure | None) -> tuple[dict[str, Any], Figure]:
    plan = json.loads((output / PLAN).read_text())
    if plan.get("version") != PLAN_VERSION:
        raise AblationError(f"{output / PLAN}: version {plan.get('version')!r}, this muxnet reads {PLAN_VERSION}")
    if config.figure and config.figure != plan["figure"]:
        raise AblationError(f"--resume {output} continues {plan['figure']!r}, not {config.figure!r}")
    given = [flag for flag, value in (("--recipe", config.recipe), ("--data", config.data),
                                      ("--dataset", config.dataset), ("--set/--epochs", list(config.overrides)))
             if value]
    if given:
        raise AblationError(f"--resume continues the saved recipe and data; {', '.join(given)} cannot change them")
    if config.seed is not None and config.seed != plan["seeds"][0]:
        raise AblationError(f"--resume {output}: its seeds start at {plan['seeds'][0]}, not --seed {config.seed}")
    figure = figure or get_figure(plan["figure"])
    if [m.name for m in figure.members] != [m["name"] for m in plan["members"]]:
        raise AblationError(f"{output / PLAN}: its members are not those of {plan['figure']!r} in this muxnet")
    if config.seeds is not None and config.seeds != len(plan["seeds"]):
        start = plan["seeds"][0]
        plan["seeds"] = list(range(start, start + config.seeds))  # more (or fewer) seeds of the same sweep
    if config.device:
        plan["recipe"]["training"]["device"] = config.device
    plan["recipe"]["output"]["progress"] = config.progress
    return plan, figure


def prepare(config: AblationConfig, resume: bool = False, figure: Figure | None = None
            ) -> tuple[dict[str, Any], Figure, Path]:
    """Every check of a sweep, before any training: the figure, the output, the recipe and the data."""
    if config.workers < 1:
        raise AblationError(f"--workers must be at least 1, got {config.workers}")
    if resume:
        if not config.output:
            raise AblationError("--resume needs the sweep directory")
        output = Path(config.output)
        _check_output(output, True)
        plan, figure = _resumed_plan(config, output, figure)
        return plan, figure, output
    if figure is None:
        if not config.figure:
            raise AblationError("name a figure or family (muxnet ablate list names them)")
        figure = get_figure(config.figure)
    output = Path(config.output or f"runs/ablate-{figure.name}")
    _check_output(output, False)
    recipe = shared_recipe(config)
    first = config.seed or 0
    seeds = list(range(first, first + (config.seeds or DEFAULT_SEEDS)))
    return plan_sweep(figure, recipe, seeds), figure, output


def _write_plan(plan: dict[str, Any], output: Path) -> None:
    (output / "specs").mkdir(parents=True, exist_ok=True)
    for name, spec in plan.pop("_specs").items():
        spec.save(output / "specs" / f"{name}.yaml")
    atomic_write(output / PLAN, json.dumps(plan, indent=2) + "\n")


def run_recipe(plan: dict[str, Any], member: dict[str, Any], seed: int, output: Path) -> dict[str, Any]:
    """The recipe of one run: the shared one with this member's spec file, input size, seed and directory."""
    run_dir = output.resolve() / member["run"] / f"seed{seed}"
    return validate_recipe(apply_overrides(plan["recipe"], [
        ("model.name", str(output.resolve() / member["spec"])), ("data.image_size", member["image_size"]),
        ("training.seed", seed), ("output.dir", str(run_dir))]))


def run_result(run_dir: Path) -> dict[str, Any] | None:
    """A finished run's numbers (``None`` while it is not finished): final-epoch test and val top-1."""
    path = run_dir / "summary.json"
    if not path.is_file():
        return None
    summary = json.loads(path.read_text())
    last = summary["last"]
    return {"top1": last["test"]["top1"], "val_top1": (last.get("val") or {}).get("top1"),
            "epochs": last["epoch"], "wall_time_s": summary["wall_time_s"]}


def chosen_members(plan: dict[str, Any], patterns: Sequence[str]) -> list[str]:
    """The names of the plan's members that match any of ``patterns`` (shell-style, ``*_025``), every member
    without patterns; a pattern that matches none fails, naming the members it could have matched."""
    names = [member["name"] for member in plan["members"]]
    if not patterns:
        return names
    matches = {p: [name for name in names if fnmatch.fnmatchcase(name, p)] for p in patterns}
    unmatched = [p for p, found in matches.items() if not found]
    if unmatched:
        raise AblationError(f"--members {', '.join(unmatched)} matches no member of {plan['figure']!r}; its members: "
                            f"{', '.join(names)}")
    chosen = {name for found in matches.values() for name in found}
    return [name for name in names if name in chosen]


def _runs(plan: dict[str, Any], names: Sequence[str]) -> list[tuple[dict[str, Any], int]]:
    """(member, seed) of every run to make for the members ``names``, seed by seed, each shared run once."""
    order, seen = [], set()
    for seed in plan["seeds"]:
        for member in plan["members"]:
            if member["name"] in names and (member["run"], seed) not in seen:
                seen.add((member["run"], seed))
                order.append((member, seed))
    return order


def recorded_results(plan: dict[str, Any], output: Path) -> dict[str, dict[int, dict[str, Any]]]:
    """The runs the sweep's ``summary.json`` records, per member name and seed.

    Run directories hold checkpoints and are often not kept (a record committed to a repository keeps only the
    summary); a run recorded here stays finished without its directory, so a resume neither retrains it nor
    drops it from the rewritten summary. Only a member whose run directory and counts still match the plan's is
    read: a summary of another figure or recipe records nothing."""
    path = output / SUMMARY
    if not path.is_file():
        return {}
    try:
        summary = json.loads(path.read_text())
        recorded = {m["name"]: m for m in summary["members"]}
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise AblationError(f"{path} is not an ablation summary ({error}); move it away to rebuild it from the "
                            f"run directories") from error
    sweep = (plan["figure"], plan["recipe"]["recipe"], plan["recipe"]["schedule"]["epochs"])
    if (summary.get("figure"), summary.get("recipe"), summary.get("epochs")) != sweep:
        return {}
    results: dict[str, dict[int, dict[str, Any]]] = {}
    for member in plan["members"]:
        entry = recorded.get(member["name"])
        if entry is None or any(entry.get(key) != member[key] for key in ("run", "params", "madds")):
            continue
        results[member["name"]] = {run["seed"]: {k: v for k, v in run.items() if k != "seed"}
                                   for run in entry.get("runs", ()) if run["seed"] in plan["seeds"]}
    return results


def collect(plan: dict[str, Any], output: Path) -> dict[str, dict[int, dict[str, Any]]]:
    """The finished runs' results per member name and seed: from the run directories, and for a run without its
    directory from the sweep's earlier summary (:func:`recorded_results`)."""
    recorded = recorded_results(plan, output)
    results: dict[str, dict[int, dict[str, Any]]] = {}
    for member in plan["members"]:
        found = {seed: run_result(output / member["run"] / f"seed{seed}") for seed in plan["seeds"]}
        earlier = recorded.get(member["name"], {})
        results[member["name"]] = {seed: r if r is not None else earlier[seed] for seed, r in found.items()
                                   if r is not None or seed in earlier}
    return results


def run_ablation(config: AblationConfig, resume: bool = False, figure: Figure | None = None,
                 log: Callable[[str], None] = print, train: Callable[..., dict[str, Any]] | None = None
                 ) -> dict[str, Any]:
    """Train every member of the figure (or those ``config.members`` names) for every seed, skipping finished
    runs, then write and return the summary of every finished run (table, verdicts) and the plot. ``figure``
    replaces the registry's (a figure of any members); ``train`` replaces :func:`muxnet.train.train` (tests count
    what a resume retrains)."""
    from ..train import train as train_run

    train = train or train_run
    t_start = time.time()
    plan, figure, output = prepare(config, resume, figure)
    names = chosen_members(plan, config.members)
    if not resume:
        output.mkdir(parents=True, exist_ok=True)
        _write_plan(plan, output)
    else:
        atomic_write(output / PLAN, json.dumps(plan, indent=2) + "\n")  # a changed seed count or device
    recorded = recorded_results(plan, output) if resume else {}
    todo = [(member, seed) for member, seed in _runs(plan, names) if seed not in recorded.get(member["name"], {})
            or (output / member["run"] / f"seed{seed}").is_dir()]
    chosen = "" if len(names) == len(plan["members"]) else f" ({len(names)} chosen)"
    log(f"ablation {plan['figure']}: {len(plan['members'])} members{chosen}, {len(plan['seeds'])} seed(s), "
        f"{len(todo)} runs on {plan['dataset']} at {plan['image_size']}x{plan['image_size']} -> {output}")
    runs = [(f"[{index}/{len(todo)} {member['name']} seed {seed}]", run_recipe(plan, member, seed, output))
            for index, (member, seed) in enumerate(todo, 1)]
    runs = [(tag, recipe) for tag, recipe in runs if run_result(Path(recipe["output"]["dir"])) is None]
    for _finished in _train_runs(runs, train, config.workers, log):
        write_outputs(summarize(plan, figure, collect(plan, output), time.time() - t_start), output, plot_figure=False)
    summary = summarize(plan, figure, collect(plan, output), time.time() - t_start)
    write_outputs(summary, output)
    return summary


def _train_runs(runs: Sequence[tuple[str, dict[str, Any]]], train: Callable[..., dict[str, Any]], workers: int,
                log: Callable[[str], None]) -> Iterator[str]:
    """Train every ``(tag, recipe)`` run, resuming one that holds a ``last.pt``, and yield each tag as its run
    finishes: here one after the other, or ``workers`` at a time in worker processes (one thread each; their
    epoch lines are not shown, each run's own ``metrics.jsonl`` has them)."""
    def started(recipe: dict[str, Any]) -> bool:
        return (Path(recipe["output"]["dir"]) / "last.pt").is_file()

    if not runs:
        return
    if workers <= 1:
        for tag, recipe in runs:
            log(f"{tag} {'resuming' if started(recipe) else 'training'}")
            train(recipe, resume=started(recipe), log=lambda line, tag=tag: log(f"{tag} {line}"))
            yield tag
        return
    # fewer runs left than workers still train in the pool, one thread each: a run's numbers must not depend on
    # how many others were left beside it when the sweep was resumed
    workers = min(workers, len(runs))
    log(f"{len(runs)} runs, {workers} at a time (one process and one thread each)")
    pool = single_thread_pool(workers)
    try:
        pending = {}
        for tag, recipe in runs:
            one_thread = {**recipe, "training": {**recipe["training"], "threads": 1}}
            pending[pool.submit(_train_silently, train, one_thread, started(recipe))] = tag
            log(f"{tag} {'resuming' if started(recipe) else 'training'} (queued)")
        for future in futures.as_completed(pending):
            summary = future.result()
            log(f"{pending[future]} finished: test top-1 {summary['last']['test']['top1']:.2f} "
                f"({summary['wall_time_s']:.0f} s)")
            yield pending[future]
    finally:
        pool.shutdown(cancel_futures=True)


def _train_silently(train: Callable[..., dict[str, Any]], recipe: dict[str, Any], resume: bool) -> dict[str, Any]:
    return train(recipe, resume=resume, log=_silent)


def _silent(line: str) -> None:
    pass


__all__ = ["DEFAULT_SEEDS", "PLAN", "PLOT", "SUMMARY", "AblationConfig", "AblationError", "chosen_members", "collect",
           "network_key", "plan_sweep", "prepare", "recorded_results", "run_ablation", "run_recipe", "run_result",
           "shared_recipe"]
