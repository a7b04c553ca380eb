"""Does the search's proxy rank architectures as full training does? Kendall tau and the proxy's seed noise.

The search ranks candidates by a short proxy training; a proxy is only as good as its agreement with the
accuracy a network reaches when trained in full. This takes ``--archs`` genomes of the ``small`` preset spread
evenly over the space's params range (a random pool plus the space's extremes, then the genomes at evenly
spaced params quantiles), trains each in full with the task's recipe (``muxnet train``'s loop) with
``--full-seeds`` seeds (the reference: its seed-to-seed spread bounds the tau any proxy can reach; ``--set``
changes that recipe, e.g. ``schedule.epochs=30``, and each full record keeps the changes it was trained with, so
references under different recipes share ``--records`` without mixing), and
proxy-trains each under every ``--proxies`` setting with ``--seeds`` seeds. A setting is
``EPOCHSxSAMPLES[:recipe]``: that many epochs on a fixed seeded subset of that many training images, with the
search's proxy (AdamW 1e-2, batch 32, cosine, no warm-up or label smoothing) or, with ``:recipe``, the task's
full recipe cut to that many epochs (its optimizer, batch, label smoothing; no warm-up).

It prints, per setting, the Kendall tau between proxy error (one seed, and the mean of the seeds) and the mean
fully trained test error, between one proxy seed and one full seed (comparable with the tau between full seeds),
the proxy's seed-to-seed spread (std within a genome) against its spread across genomes, the tau between params
and proxy error (how much of its ranking is size alone), and its cost in image passes per candidate. The
results are appended, one line per training, to ``full.jsonl`` and ``proxy.jsonl`` in ``--records`` (small, kept
with the benchmark so a later run adds to them); the full trainings' run directories go under ``--runs``. Rerun
to continue.

    PYTHONPATH=src python benchmarks/bench_proxy_rank.py --full-seeds 2 --proxies 2x1250,1x5000

``--difficulty hard`` measures the same on the hard composition of the cluttered digits (its full trainings
are kept apart as a recipe change; its proxy records say their composition).
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import json
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
from scipy import stats

from muxnet.data.cluttered import DIFFICULTIES
from muxnet.profiling import count_spec
from muxnet.runtime import die_with_parent
from muxnet.search.retrain import TrainJob, test_top1, train_jobs
from muxnet.search.space import SearchSpace, genome_key

_DATA = {}


def spread_genomes(count: int, seed: int = 0, pool: int = 3000) -> list[tuple[int, ...]]:
    """``count`` genomes at evenly spaced params quantiles of a random pool plus the space's two extremes."""
    space = SearchSpace("small")
    rng = np.random.default_rng(seed)
    genomes = list({g: None for g in [*space.extreme_genomes(), *(space.sample(rng) for _ in range(pool))]})
    params = np.array([count_spec(space.decode(g))[0] for g in genomes])
    order = np.argsort(params)
    picks = order[np.round(np.linspace(0, len(order) - 1, count)).astype(int)]
    return [genomes[i] for i in picks]


def parse_setting(text: str) -> tuple[int, int, str]:
    """``EPOCHSxSAMPLES[:recipe]`` as ``(epochs, samples, optimizer)``, the optimizer ``proxy`` or ``recipe``."""
    body, _, optimizer = text.strip().partition(":")
    if optimizer not in ("", "recipe"):
        raise ValueError(f"{text!r}: a setting ends in ':recipe' or nothing")
    epochs, samples = body.split("x")
    return int(epochs), int(samples), optimizer or "proxy"


def setting_name(epochs: int, samples: int, optimizer: str) -> str:
    return f"{epochs}x{samples}" + ("" if optimizer == "proxy" else f":{optimizer}")


def _init(parent: int) -> None:
    import torch

    die_with_parent(parent)
    torch.set_num_threads(1)


def proxy_error(genome: tuple[int, ...], epochs: int, samples: int, optimizer: str, seed: int,
                dataset: str, difficulty: str = "standard") -> float:
    import torch

    from muxnet.data import load_tensors
    from muxnet.data.tensors import as_tensors
    from muxnet.models.network import build_model
    from muxnet.search.evaluators import train_candidate
    from muxnet.train import train_and_evaluate
    from muxnet.train.recipes import RECIPE_FOR_DATASET, load_recipe

    if (dataset, difficulty) not in _DATA:
        _DATA[dataset, difficulty] = load_tensors(None, 32, 0, dataset=dataset, difficulty=difficulty)
    data = _DATA[dataset, difficulty]
    train = as_tensors(data.train, samples, seed=0)  # the search's fixed subset: one per run, not per candidate
    spec = SearchSpace("small").decode(genome)
    if optimizer == "proxy":
        return train_candidate(spec, train, data.val, epochs, 32, 1e-2, seed=seed, device="cpu")
    torch.manual_seed(seed)
    recipe = load_recipe(RECIPE_FOR_DATASET[dataset], [("schedule.epochs", epochs), ("schedule.warmup_epochs", 0),
                                                       ("training.seed", seed)])
    return train_and_evaluate(build_model(spec), train, data.val, epochs, recipe, seed=seed, device="cpu")


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def _append(path: Path, record: dict) -> None:
    with path.open("a") as fh:
        fh.write(json.dumps(record) + "\n")


def train_full(genomes, seeds: int, records: Path, runs: Path, dataset: str, workers: int,
               overrides: tuple[str, ...] = ()) -> dict:
    """``{(genome key, seed): test error}`` of every full training with the recipe changed by ``overrides``,
    the missing ones trained now."""
    space = SearchSpace("small")
    full = {(r["genome"], r["seed"]): r["test_error"] for r in _read(records / "full.jsonl")
            if tuple(r.get("overrides", ())) == overrides}
    jobs = []
    for seed in range(seeds):  # every genome's first seed before any second one
        for g in genomes:
            key = genome_key(g)
            if (key, seed) in full:
                continue
            path = runs / "specs" / f"{key}.yaml"
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                space.decode(g).save(path)
            jobs.append(TrainJob(key, str(path), seed, str(runs / "full" / f"{key}_seed{seed}")))
    for job, summary in train_jobs(jobs, recipe=None if dataset == "cluttered" else dataset, overrides=overrides,
                                   workers=workers):
        error = 1 - test_top1(summary) / 100
        full[(job.name, job.seed)] = error
        record = {"genome": job.name, "seed": job.seed, "test_error": error,
                  "wall_s": round(summary["wall_time_s"], 1)}
        _append(records / "full.jsonl", {**record, "overrides": list(overrides)} if overrides else record)
        print(f"  full {job.name} seed {job.seed}: test error {error:.4f} ({summary['wall_time_s']:.0f} s)",
              flush=True)
    return full


def proxy_all(genomes, settings, seeds: int, records: Path, dataset: str, workers: int,
              difficulty: str = "standard") -> dict:
    """``{(genome key, setting name, seed): proxy error}`` on the ``difficulty`` composition, the missing ones
    trained now (a record without one is of the standard composition, the only one when it was made)."""
    done = {(r["genome"], r["setting"], r["seed"]): r["error"] for r in _read(records / "proxy.jsonl")
            if r.get("difficulty", "standard") == difficulty}
    tag = {"difficulty": difficulty} if difficulty != "standard" else {}
    todo = [(g, st, s) for st in settings for g in genomes for s in range(seeds)
            if (genome_key(g), setting_name(*st), s) not in done]
    if not todo:
        return done
    pool = futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_init, initargs=(os.getpid(),))
    try:
        pending = {pool.submit(proxy_error, g, *st, s, dataset, difficulty): (g, st, s) for g, st, s in todo}
        for future in futures.as_completed(pending):
            g, st, s = pending[future]
            key, name = genome_key(g), setting_name(*st)
            done[(key, name, s)] = future.result()
            _append(records / "proxy.jsonl", {"genome": key, "setting": name, "seed": s, "error": done[(key, name, s)],
                                              **tag})
            print(f"  proxy {name} seed {s} {key}: error {done[(key, name, s)]:.3f}", flush=True)
    finally:
        pool.shutdown(cancel_futures=True)
    return done


def spread(errors: np.ndarray) -> tuple[float, float]:
    """(root-mean within-genome variance, std of the genome means) of a genomes x seeds array."""
    within = float(np.sqrt(errors.var(axis=1, ddof=1).mean())) if errors.shape[1] > 1 else float("nan")
    return within, float(errors.mean(1).std(ddof=1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", default=str(Path(__file__).parent / "data" / "proxy_rank"),
                   help="where full.jsonl and proxy.jsonl are kept")
    p.add_argument("--runs", default="runs/proxy_rank", help="the full trainings' run directories")
    p.add_argument("--archs", type=int, default=20)
    p.add_argument("--full-seeds", type=int, default=1, help="full trainings per genome")
    p.add_argument("--proxies", default="2x1250,1x5000", help="EPOCHSxSAMPLES[:recipe] settings, comma-separated")
    p.add_argument("--seeds", type=int, default=2, help="proxy seeds per genome and setting")
    p.add_argument("--dataset", default="cluttered", help="an embedded dataset (its recipe trains in full)")
    p.add_argument("--difficulty", default="standard", choices=tuple(DIFFICULTIES),
                   help="the cluttered digits' composition, for the proxies and the full trainings alike")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="change the full trainings' recipe, e.g. schedule.epochs=30 (their runs go under --runs "
                        "in a folder named after the changes)")
    args = p.parse_args()

    records, runs = Path(args.records), Path(args.runs)
    if args.difficulty != "standard" and args.dataset != "cluttered":
        p.error(f"--difficulty: a setting of the cluttered digits, not of {args.dataset}")
    overrides = (*args.set, *([f"data.difficulty={args.difficulty}"] if args.difficulty != "standard" else []))
    from muxnet.train.recipes import RECIPE_FOR_DATASET, RecipeError, load_recipe

    try:  # a bad key fails here, before any training
        load_recipe(RECIPE_FOR_DATASET[args.dataset], overrides)
    except RecipeError as err:
        p.error(str(err))
    if overrides:  # another recipe's runs must not be read back as this one's
        runs = runs / "_".join(o.replace("=", "-").replace("/", "-") for o in overrides)
    records.mkdir(parents=True, exist_ok=True)
    settings = [parse_setting(s) for s in args.proxies.split(",") if s.strip()]
    genomes = spread_genomes(args.archs)
    space = SearchSpace("small")
    started = time.perf_counter()
    full = train_full(genomes, args.full_seeds, records, runs, args.dataset, args.workers, overrides)
    print(f"full trainings: {time.perf_counter() - started:.0f} s", flush=True)
    proxies = proxy_all(genomes, settings, args.seeds, records, args.dataset, args.workers, args.difficulty)
    print(f"all: {time.perf_counter() - started:.0f} s\n")

    keys = [genome_key(g) for g in genomes]
    reference = np.array([[full[(k, s)] for s in range(args.full_seeds)] for k in keys])
    truth = reference.mean(1)
    params = np.array([count_spec(space.decode(g))[0] for g in genomes])
    print(f"{len(keys)} genomes, {params.min() / 1e6:.2f}M..{params.max() / 1e6:.2f}M params; fully trained test "
          f"error {truth.min():.4f}..{truth.max():.4f}; tau(params, full error) "
          f"{stats.kendalltau(params, truth)[0]:+.2f}")
    within, across = spread(reference)
    ceiling = [stats.kendalltau(reference[:, a], reference[:, b])[0]
               for a in range(args.full_seeds) for b in range(a + 1, args.full_seeds)]
    if ceiling:
        print(f"full training's own noise: seed std {within:.4f} against genome std {across:.4f}; tau between "
              f"its seeds {np.mean(ceiling):.2f} (what a proxy as good as a full training scores in the 1:1 column)")
    print(f"\n{'proxy':>13} {'passes':>7} {'mean error':>10} {'tau 1 seed':>11} {'tau mean':>9} "
          f"{'tau 1:1':>8} {'seed std':>9} {'genome std':>11} {'tau params':>11}")
    rows = []
    for st in settings:
        name = setting_name(*st)
        errors = np.array([[proxies[(k, name, s)] for s in range(args.seeds)] for k in keys])
        single = [stats.kendalltau(errors[:, s], truth)[0] for s in range(args.seeds)]
        mean_tau = stats.kendalltau(errors.mean(1), truth)[0]
        # One proxy seed against one full seed: the like-for-like comparison with the tau between full seeds.
        one_to_one = [stats.kendalltau(errors[:, s], reference[:, f])[0]
                      for s in range(args.seeds) for f in range(args.full_seeds)]
        by_size = stats.kendalltau(params, errors.mean(1))[0]
        within, across = spread(errors)
        passes = st[0] * st[1]
        print(f"{name:>13} {passes:>7} {errors.mean():>10.3f} {np.mean(single):>11.2f} {mean_tau:>9.2f} "
              f"{np.mean(one_to_one):>8.2f} {within:>9.3f} {across:>11.3f} {by_size:>+11.2f}")
        rows.append({"setting": name, "passes_at_32px": passes, "mean_error": float(errors.mean()),
                     "tau_single_seed": single, "tau_mean": mean_tau, "tau_one_to_one": one_to_one,
                     "tau_params": by_size, "seed_std": within, "genome_std": across})
    (records / "summary.json").write_text(json.dumps(
        {"genomes": keys, "params": params.tolist(), "full_error": reference.tolist(), "tau_full_seeds": ceiling,
         "proxies": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
