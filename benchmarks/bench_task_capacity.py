"""Does capacity matter on the embedded default task? The same skeleton at several widths, fully trained.

The search's default task must reward better architectures, so accuracy must rise with capacity and the largest
network of the search space's size must stay below saturation. This trains the search's own skeleton filled with
MobileNetV2's choices (``muxnet.search.baselines``) at each ``--widths`` multiplier with the task's recipe, for
``--seeds`` seeds each (in parallel worker processes, resumable: rerun with the same ``--output`` to continue),
and prints per width the params, MAdds and the mean test top-1 with its 95% t-interval, and between consecutive
widths the difference and Welch's t-test. Every finished training is also kept in ``--records`` (one line each,
with the fingerprint of its spec, seed and resolved recipe, and its test top-1 after every epoch), so a rerun on a
machine without the run directories reads them back instead of training again. ``--by-epoch`` also prints, for
chosen epochs, each width's mean test top-1 and how many pairs of widths are already ordered by width (over the
seeds), to show how soon in training the widths separate. ``--early-width`` scales the stem and stage 1 by one
multiplier for every width, to tell the early layers' width apart from the rest of the capacity; a ``--widths``
entry ``W/E`` does the same for one row (body width W, early width E), so networks that swap their early layers
print side by side with the plain widths, each row against the one before it. The entries ``space-min`` and
``space-max`` are the search space's cheapest and most expensive genomes (``SearchSpace.extreme_genomes``), to see
whether the choices the search makes, rather than the widths it leaves fixed, move accuracy on the task.
``--train-pool`` also scores every run whose directory is at hand on renders of the training digits that no epoch
drew, beside its test renders: when the two agree the networks do not memorise the training digits, and whatever
holds accuracy down is in the images or the training, not in generalising to new handwriting.

    PYTHONPATH=src python benchmarks/bench_task_capacity.py --output runs/capacity
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path

from muxnet.models.spec import NetworkSpec
from muxnet.profiling import count_spec
from muxnet.runtime.statistics import mean_interval, welch_test
from muxnet.search.baselines import mobilenet_v2_choices
from muxnet.search.retrain import TrainingRecords, TrainJob, test_top1, train_jobs
from muxnet.search.space import SearchSpace


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--output", default="runs/capacity", help="where the runs go (rerun to resume)")
    p.add_argument("--widths", default="0.5,1.0,1.4",
                   help="width multipliers of the skeleton, in table order; W/E: body width W, early width E; "
                        "space-min, space-max: the small search space's extreme genomes")
    p.add_argument("--early-width", type=float, default=None,
                   help="width multiplier of the stem and stage 1 for every width (default: each width's own)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--recipe", default="cluttered", help="the task's recipe (default: the embedded default's)")
    p.add_argument("--workers", type=int, default=None, help="parallel runs (default: one per core)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="recipe override for every run")
    p.add_argument("--train-pool", action="store_true",
                   help="also score each run's last weights on unseen renders of the training digits beside the test")
    p.add_argument("--json", help="write the table here too")
    p.add_argument("--by-epoch", metavar="E,E,...", help="also show the widths' separation at these epochs")
    p.add_argument("--records", default=str(Path(__file__).parent / "data" / "task_capacity" / "trainings.jsonl"),
                   help="finished trainings kept across machines (read back instead of retrained)")
    args = p.parse_args()
    if args.early_width is not None and args.early_width <= 0:
        p.error(f"--early-width must be positive, got {args.early_width}")
    try:
        widths = parse_widths(args.widths, args.early_width)
    except ValueError as e:
        p.error(f"--widths: {e}")
    by_epoch = [int(e) for e in args.by_epoch.split(",")] if args.by_epoch else []
    if any(e < 1 for e in by_epoch):
        p.error(f"--by-epoch: epochs count from 1, got {args.by_epoch}")

    out = Path(args.output)
    (out / "specs").mkdir(parents=True, exist_ok=True)
    names = {width: row_name(width) for width in widths}
    costs, paths = {}, {}
    for width in widths:
        spec = row_spec(width)
        paths[width] = out / "specs" / f"{names[width]}.yaml"
        if not paths[width].is_file():
            spec.save(paths[width])
        costs[width] = count_spec(spec)
    # seed by seed, largest first: a run stopped early has already compared every width, and the longest
    # trainings start first
    jobs = [TrainJob(names[width], str(paths[width]), seed, str(out / f"{names[width]}_seed{seed}"))
            for seed in range(args.seeds) for width in sorted(widths, key=costs.get, reverse=True)]
    overrides = list(args.set)  # "key=value", parsed as muxnet train --set parses them
    started = time.perf_counter()
    top1: dict[str, list[float]] = {}
    curves: dict[str, dict[int, list[float]]] = {}
    trained: dict[str, tuple[int, int]] = {}
    records = TrainingRecords(args.records)
    for job, summary in train_jobs(jobs, args.recipe, overrides=overrides, workers=args.workers, records=records):
        top1.setdefault(job.name, []).append(test_top1(summary))
        trained[job.name] = (summary["params"], summary["madds"])  # the spec's, with the data's classifier
        if summary.get("top1_by_epoch"):
            curves.setdefault(job.name, {})[job.seed] = summary["top1_by_epoch"]
        print(f"  {job.name} seed {job.seed}: test top-1 {test_top1(summary):.2f} "
              f"({summary['wall_time_s']:.0f} s)", flush=True)
    print(f"\n{len(jobs)} runs, {time.perf_counter() - started:.0f} s\n")
    rows = []
    if args.early_width is not None:
        print(f"stem and stage 1 at width {args.early_width:g} where a row does not name its own (W/E)")
    print(f"{'width':>8} {'params':>8} {'MAdds':>8}  test top-1, mean [95% interval]   vs previous width")
    previous = None
    for width in widths:
        values = top1[names[width]]
        interval = mean_interval(values)
        params, madds = trained.get(names[width], costs[width])
        step = ""
        if previous is not None:
            gain = interval.mean - previous[1].mean
            if min(len(values), len(previous[0])) < 2:  # one seed has no spread: no test, no interval
                step = f"{gain:+.2f} points (one seed: no test)"
            else:
                step = (f"{gain:+.2f} points, Welch p={welch_test(values, previous[0]):.3g}, intervals "
                        f"{'overlap' if interval.overlaps(previous[1]) else 'apart'}")
        label = width if isinstance(width, str) else (
            f"{width[0]:g}" + ("" if width[1] in (None, args.early_width) else f"/{width[1]:g}"))
        print(f"{label:>8} {params / 1e6:>7.2f}M {madds / 1e6:>7.2f}M  {interval.format():<32} {step}")
        rows.append({"width": width if isinstance(width, str) else width[0],
                     "early_width": None if isinstance(width, str) else width[1], "params": params, "madds": madds,
                     "top1": values, **interval.to_dict()})
        previous = (values, interval)
    if by_epoch:
        ordered_names = [names[width] for width in sorted(widths, key=costs.get)]
        print(f"\n{'epoch':>6}  " + "  ".join(f"{n:>7}" for n in ordered_names) + "  pairs ordered by width")
        for epoch, means, ordered, pairs in separation_by_epoch([curves.get(n, {}) for n in ordered_names],
                                                                by_epoch):
            print(f"{epoch:>6}  " + "  ".join(f"{m:>7.2f}" for m in means) + f"  {ordered} of {pairs}")
    if args.train_pool:
        print(f"\n{'network':>12}  {'runs':>4}  {'train pool':>10}  {'test':>6}  "
              "train pool minus test, mean [95% interval]")
        for width in widths:
            scores = [train_pool_and_test(Path(job.run_dir)) for job in jobs
                      if job.name == names[width] and (Path(job.run_dir) / "summary.json").is_file()]
            if scores:
                pool, test = zip(*scores)
                gap = mean_interval([a - b for a, b in scores])
                print(f"{names[width]:>12}  {len(scores):>4}  {sum(pool) / len(pool):>10.2f}  "
                      f"{sum(test) / len(test):>6.2f}  {gap.format()}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


UNSEEN_EPOCH = 1_000_000  # a render index no training reaches: new layouts of the training digits


def train_pool_and_test(run: Path, count: int = 2000) -> tuple[float, float]:
    """Test top-1 of a finished run's last weights on ``count`` renders of the training pool no epoch drew, and on
    its test split, both standardised as in training."""
    import torch

    from muxnet.data.cluttered import DEFAULT_COUNTS, composition, render
    from muxnet.train.targets import load_target

    target = load_target(run, run / "last.safetensors", log=lambda *_: None)
    data = target.recipe["data"]
    (test_images, test_labels), mean, std = _test_split(data["image_size"], data["seed"], data["difficulty"])
    # drawn as a training epoch is (its full count), so these are the first images of an epoch training never reached
    pixels, labels = render("train", DEFAULT_COUNTS["train"], data["seed"], data["image_size"],
                            composition(data["difficulty"]), epoch=UNSEEN_EPOCH)

    def top1(images: torch.Tensor, labels: torch.Tensor) -> float:
        with torch.no_grad():
            predicted = torch.cat([target.model(images[i:i + 500]).argmax(1) for i in range(0, len(images), 500)])
        return float((predicted == labels).float().mean()) * 100

    return top1(pixels[:count].float().div_(255).sub_(mean).div_(std), labels[:count]), top1(test_images, test_labels)


@functools.lru_cache(maxsize=4)
def _test_split(image_size: int, seed: int, difficulty: str):
    """The task's test tensors and its training mean/std: the same for every run of one table, so made once."""
    from muxnet.data.cluttered import load_cluttered

    splits = load_cluttered(image_size, seed, params=difficulty, train_renders="per_epoch")
    return splits.test.tensors, splits.train.mean, splits.train.std


SPACE_EXTREMES = ("space-min", "space-max")


def parse_widths(text: str, early_width: float | None = None) -> list[tuple[float, float | None] | str]:
    """``"0.5,1.0/0.5,space-max"`` -> ``[(0.5, early_width), (1.0, 0.5), "space-max"]``: each entry is a body
    width, optionally with its own early width after a slash (the stem and stage 1; ``None``: the body's), or one
    of the search space's extreme genomes. Rows keep the given order, because each is compared with the one
    before it."""
    widths = []
    for entry in text.split(","):
        body, slash, early = entry.strip().partition("/")
        if entry.strip() in SPACE_EXTREMES:
            width = entry.strip()
        else:
            try:
                width = (float(body), float(early) if slash else early_width)
            except ValueError:
                raise ValueError(f"{entry.strip()!r} is not a width W, W/E or one of {SPACE_EXTREMES}") from None
            if width[0] <= 0 or (width[1] is not None and width[1] <= 0):
                raise ValueError(f"widths must be positive, got {entry.strip()!r}")
        if width in widths:
            raise ValueError(f"{entry.strip()!r} is given twice")
        widths.append(width)
    return widths


def row_name(width: tuple[float, float | None] | str) -> str:
    if isinstance(width, str):
        return width.replace("-", "_")
    return f"w{width[0]:g}" + ("" if width[1] is None else f"_early{width[1]:g}")


def row_spec(width: tuple[float, float | None] | str) -> NetworkSpec:
    if isinstance(width, str):
        space = SearchSpace("small")
        return space.decode(space.extreme_genomes()[SPACE_EXTREMES.index(width)])
    return mobilenet_v2_choices("small", *width)


def separation_by_epoch(curves: list[dict[int, list[float]]], epochs: list[int]):
    """For each epoch, yield ``(epoch, mean top-1 per width, ordered pairs, pairs)``: ``curves`` holds, per width
    from the narrowest, each seed's top-1 after every epoch; a pair is two widths trained with the same seed, and
    it is ordered when the wider one is ahead at that epoch. Only seeds every width has, and epochs every one of
    their runs reached, are counted."""
    seeds = sorted(set.intersection(*(set(c) for c in curves))) if curves else []
    for epoch in epochs:
        if not seeds or any(len(c[s]) < epoch for c in curves for s in seeds):
            continue
        at = [[c[s][epoch - 1] for s in seeds] for c in curves]
        ordered = sum(at[j][k] > at[i][k] for i in range(len(at)) for j in range(i + 1, len(at))
                      for k in range(len(seeds)))
        pairs = len(seeds) * len(at) * (len(at) - 1) // 2
        yield epoch, [sum(v) / len(v) for v in at], ordered, pairs


if __name__ == "__main__":
    main()
