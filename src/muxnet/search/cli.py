"""Arguments of ``muxnet search`` and the call into :func:`~muxnet.search.driver.run_search`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..data.cluttered import DIFFICULTIES
from ..data.datasets import DEFAULT_DATASET, EMBEDDED
from ..runtime.arguments import add_alias, add_resume, existing_dir, non_negative_int, positive_int
from .algorithms import ALGORITHMS
from .driver import DEFAULT_TARGETS, SearchConfig, recorded_config, run_search
from .driver.protocol import PROTOCOLS, estimate_cost, format_estimate
from .evaluators import check_device
from .executors import EXECUTORS
from .scalarization import SCALARIZATIONS


def add_search_arguments(p: argparse.ArgumentParser) -> None:
    defaults = SearchConfig()
    data = p.add_argument("--data", metavar="DIR|NAME", type=data_source,
                          help="data directory, read as muxnet train --data reads it: class folders "
                          "(DIR/train|val|test/<class>/ or DIR/<class>/), CIFAR pickles or ChestX-Ray14; or an "
                          f"embedded dataset by name ({', '.join(EMBEDDED)}); default: {DEFAULT_DATASET}, the "
                          "embedded cluttered digits")
    add_alias(p, "--dataset", data)  # the data directory's name before --dataset meant a layout everywhere
    p.add_argument("--difficulty", choices=tuple(DIFFICULTIES), default=None,
                   help="the embedded cluttered digits' composition, as muxnet train's data.difficulty "
                        "(default: standard; the retrained picks train on the same)")
    p.add_argument("--skip-bad-images", action="store_true",
                   help="skip unreadable images (listed in the run's bad_images.txt) instead of stopping")
    p.add_argument("--preset", default=defaults.preset, help="network skeleton: 'small' (32x32) or 'imagenet224'")
    p.add_argument("--objectives", default=defaults.objectives,
                   help="error and one or two costs among params, madds, latency (milliseconds of this machine, "
                        "from a per-block look-up table), e.g. 'error,params,latency'")
    p.add_argument("--targets", default=None,
                   help="';'-separated preferences naming a value for each cost objective, e.g. "
                        "'params=1.8M,madds=66M;params=2.4M,madds=117M' or with latency 'params=1M,latency=5ms' "
                        f"(error target 0 = accuracy 1; default with the default objectives: {DEFAULT_TARGETS})")
    p.add_argument("--latency-table", help="the latency look-up table's JSON file (default: "
                   "$MUXNET_CACHE_DIR or ~/.cache/muxnet, one file per thread count); measured on first use")
    p.add_argument("--latency-threads", type=positive_int, default=defaults.latency_threads,
                   help="intra-op threads the latency table is measured with")
    p.add_argument("--rebuild-latency-table", action="store_true",
                   help="discard the latency table (e.g. one measured on another machine) and measure it anew")
    p.add_argument("--algorithm", default=defaults.algorithm, choices=sorted(ALGORITHMS),
                   help="MOEA/D over all targets' sub-problems together, or regularized evolution per target")
    p.add_argument("--scalarization", default=defaults.scalarization, choices=sorted(SCALARIZATIONS),
                   help="how a sub-problem scores (error, params, MAdds): 'asf' (default), an augmented "
                        "achievement function with the target as aspiration point, keeps each target's picks "
                        "near it; 'pbi', PBI with theta 5, as in the paper")
    p.add_argument("--target-mode", choices=("near", "at-most"), default=None,
                   help="how the ASF reads a target's costs: 'near' (default: about that many params/MAdds; a "
                        "smaller model costs as a larger one does) or 'at-most' (a budget: only going over costs)")
    p.add_argument("--population", type=positive_int, default=defaults.population, help="number of sub-problems")
    p.add_argument("--generations", type=non_negative_int, default=defaults.generations)
    p.add_argument("--epochs", type=positive_int, default=defaults.epochs, help="proxy training epochs per candidate")
    p.add_argument("--max-train-samples", type=positive_int, help="train each candidate on this many images at most")
    p.add_argument("--evaluator", default=defaults.evaluator,
                   help="'train' (proxy training), 'synthetic' (a cheap surrogate) or 'table:PATH' (CSV/SQLite)")
    p.add_argument("--restrict-to-table", action="store_true",
                   help="with --evaluator table:PATH, search only the sub-space the table's genomes span")
    p.add_argument("--protocol", choices=sorted(PROTOCOLS),
                   help="a preset protocol: 'paper' is the paper's search (imagenet224, 50K training images at "
                        "224x224, 5 epochs, population 40, 100 generations, four targets, PBI; needs --data); "
                        "flags given with it override its values")
    p.add_argument("--dry-run", action="store_true",
                   help="print what the search will cost (candidates, seconds per candidate measured with one "
                        "short timed step here, workers, wall-clock and GPU-hours) and stop")
    p.add_argument("--device", default=None, type=_device,
                   help="where each candidate trains: 'auto' (default: the worker's GPU when it has one, with AMP "
                        "and channels-last; else the CPU), 'cpu', 'cuda' or 'cuda:N' (checked on this machine); "
                        "a GPU a worker does not have falls back to its CPU")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="where a data directory's uint8 proxy cache is written once and memory-mapped by every "
                        "worker (default: $MUXNET_CACHE_DIR or ~/.cache/muxnet; on a cluster, a shared "
                        "filesystem or the same local path on each node)")
    p.add_argument("--executor", default="process", choices=EXECUTORS)
    p.add_argument("--workers", type=positive_int,
                   help="parallel evaluations (default: one per GPU when there are several, else one per CPU core)")
    p.add_argument("--ray-address", help="Ray cluster address ('auto', 'ray://host:10001'); implies --executor ray")
    p.add_argument("--gpus-per-candidate", type=_non_negative_float,
                   help="Ray: GPUs each candidate asks for, fractions allowed (0.25: four candidates per GPU); "
                        "default: 1 when the cluster has GPUs and --device is not cpu, else 0")
    p.add_argument("--cpus-per-candidate", type=_positive_float, default=1.0,
                   help="Ray: CPUs each candidate asks for (default 1)")
    p.add_argument("--retries", type=non_negative_int, default=3,
                   help="Ray: times a candidate whose node or worker was lost is submitted again (default 3)")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--top-k", type=positive_int, default=defaults.top_k, help="spec files written per target")
    p.add_argument("--retrain", action="store_true",
                   help="after the search, train each target's best picks with the data's full recipe (as "
                        "muxnet train does) and report their test accuracy beside the proxy error; with --resume "
                        "RUN, retrains the picks of a finished search")
    p.add_argument("--retrain-top-k", type=positive_int, default=1, help="picks per target to retrain (default 1)")
    p.add_argument("--retrain-seeds", type=positive_int, default=1,
                   help="seeds per retrained pick (default 1; 3 or more give a 95%% interval)")
    p.add_argument("--retrain-set", action="append", default=[], metavar="KEY=VALUE",
                   help="recipe override for the retraining, as muxnet train --set (e.g. schedule.epochs=20)")
    output = p.add_argument("--output", metavar="DIR", help="run directory (default: runs/search-<timestamp>)")
    add_alias(p, "--out", output)
    add_resume(p, "search")


def _device(text: str) -> str | None:
    """``--device``: ``auto`` becomes ``None`` (each worker picks), which the shared check of every command
    leaves alone; a named device is checked on this machine as every command's ``--device`` is."""
    try:
        name = check_device(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix("device: ")) from None
    return None if name == "auto" else name


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value != value:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def data_source(text: str) -> str:
    """``--data``: an embedded dataset's name (made by the package, no directory) or a data directory."""
    return text if text in EMBEDDED else existing_dir(text)


def _dataset(data: str | None) -> str | None:
    """What the configuration records for ``--data``: an embedded name as it is, a directory as an absolute path."""
    if data is None or data in EMBEDDED:
        return data
    return str(Path(data).resolve())


def _config(args: argparse.Namespace) -> SearchConfig:
    """The configuration ``args`` describe; resuming, the recorded one with the flags given on top (a flag that
    changes it is then refused by ``run_search``, naming what differs)."""
    given = dict(preset=args.preset, targets=args.targets, algorithm=args.algorithm, objectives=args.objectives,
                 latency_table=str(Path(args.latency_table).resolve()) if args.latency_table else None,
                 latency_threads=args.latency_threads, scalarization=args.scalarization,
                 population=args.population, generations=args.generations, evaluator=args.evaluator,
                 dataset=_dataset(args.data), difficulty=args.difficulty,
                 skip_bad_images=args.skip_bad_images, epochs=args.epochs, max_train_samples=args.max_train_samples,
                 seed=args.seed, top_k=args.top_k, restrict_to_table=args.restrict_to_table,
                 target_mode=args.target_mode.replace("-", "_") if args.target_mode else None)
    defaults = SearchConfig().to_dict()
    # a flag left at its default says nothing: a resumed run keeps what it recorded
    given = {k: v for k, v in given.items() if v is not None and v != defaults[k]}
    recorded = (recorded_config(args.resume) if args.resume is not None else None) or {}
    if "dataset" in recorded and recorded["dataset"] is None:  # runs made when the digits were the only default
        recorded["dataset"] = "digits"
    protocol = PROTOCOLS[args.protocol] if getattr(args, "protocol", None) else {}
    if args.protocol and not args.data and not args.dry_run and args.resume is None:
        raise ValueError(f"--protocol {args.protocol}: give --data DIR (the paper searched on ImageNet's "
                         "training set, e.g. --data /data/imagenet); --dry-run estimates the cost without it")
    values = {**defaults, **{k: v for k, v in recorded.items() if k in defaults}, **protocol, **given}
    if values["targets"] == DEFAULT_TARGETS and values["objectives"] != defaults["objectives"]:
        raise ValueError(f"--targets: with --objectives {values['objectives']} give targets naming those costs, "
                         "e.g. 'params=1M,latency=5ms'")
    if values["evaluator"].startswith("table:") and not Path(values["evaluator"][len("table:"):]).is_file():
        raise ValueError(f"--evaluator: no table at {values['evaluator'][len('table:'):]}")
    return SearchConfig(**values)


def search_from_args(args: argparse.Namespace) -> int:
    """Run the search ``args`` describe; ``args.resume`` is the run directory to continue (see
    :func:`~muxnet.runtime.arguments.settle_resume`), or ``None``."""
    config = _config(args)
    executor = "ray" if args.ray_address else args.executor
    if args.dry_run:
        return _dry_run(args, config, executor)
    out = Path(args.resume or args.output or Path("runs") / f"search-{time.strftime('%Y%m%d-%H%M%S')}")
    run_search(config, out, resume=args.resume is not None, executor=executor, workers=args.workers,
               ray_address=args.ray_address, log=lambda line: print(line, flush=True),
               rebuild_latency_table=args.rebuild_latency_table, device=args.device, cache_dir=args.cache_dir,
               gpus_per_candidate=args.gpus_per_candidate, cpus_per_candidate=args.cpus_per_candidate,
               retries=args.retries, retrain=_retrain_options(args))
    return 0


def _retrain_options(args: argparse.Namespace):
    """The retraining ``--retrain`` asks for, its settings checked now (``None`` without it)."""
    from .retrain import RetrainOptions

    given = args.retrain_top_k != 1 or args.retrain_seeds != 1 or args.retrain_set
    if given and not args.retrain:
        raise ValueError("--retrain-top-k, --retrain-seeds and --retrain-set need --retrain")
    if not args.retrain:
        return None
    from ..train.recipes import parse_override

    for item in args.retrain_set:
        parse_override(item)  # a malformed override fails now, not after the search
    return RetrainOptions(args.retrain_top_k, args.retrain_seeds, args.workers, tuple(args.retrain_set))


def _dry_run(args: argparse.Namespace, config: SearchConfig, executor: str) -> int:
    """Print the cost estimate of ``config`` (nothing is trained or written; a data directory is listed, not
    read) and return 0."""
    from .driver.search_run import proxy_data
    from .space import SearchSpace

    if config.evaluator != "train":
        raise ValueError(f"--dry-run: estimates proxy training; --evaluator {config.evaluator} costs next to nothing")
    # a protocol without --data: the sizes it names; otherwise the data the run would read (listed, not read)
    no_data = args.protocol and not args.data
    data = None if no_data else proxy_data(config, SearchSpace(config.preset), args.cache_dir)
    estimate = estimate_cost(config, data, executor, args.workers, args.ray_address, args.device,
                             args.gpus_per_candidate, args.cpus_per_candidate)
    label = f"protocol {args.protocol}" if args.protocol else "this configuration"
    print(format_estimate(estimate, f"{label} ({config.preset} preset, {config.algorithm}, {config.scalarization})"))
    return 0


__all__ = ["add_search_arguments", "search_from_args"]
