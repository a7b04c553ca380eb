"""Does the search's proxy rank architectures as full training does? Kendall tau and the proxy's seed noise.

The search ranks candidates by a short proxy training; a proxy is only as good as its agreement with the
accuracy a network reaches when trained in full. This takes ``--archs`` genomes of the ``small`` preset spread
evenly over the space's params range (a random pool, walked to cover the extremes, then the genomes at evenly
spaced params quantiles), trains each in full with the task's recipe (``muxnet train``'s loop, one seed: the
reference), and proxy-trains each under every ``--proxies`` setting (``EPOCHSxSAMPLES``: that many epochs on a
fixed seeded subset of that many training images, the search's AdamW proxy) with ``--seeds`` seeds. It prints,
per setting, the Kendall tau between proxy error (one seed, and the mean of the seeds) and fully trained test
error, the proxy's seed-to-seed spread (std within a genome) against its spread across genomes, and the cost in
image passes per candidate. Resumable: rerun with the same ``--output`` to continue.

    PYTHONPATH=src python benchmarks/bench_proxy_rank.py --output runs/proxy_rank
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


def _init(parent: int) -> None:
    import torch

    die_with_parent(parent)
    torch.set_num_threads(1)


def proxy_error(genome: tuple[int, ...], epochs: int, samples: int, seed: int, dataset: str) -> float:
    from muxnet.data import load_tensors
    from muxnet.data.tensors import as_tensors
    from muxnet.search.evaluators import train_candidate

    if dataset not in _DATA:
        _DATA[dataset] = load_tensors(None, 32, 0, dataset=dataset)
    data = _DATA[dataset]
    train = as_tensors(data.train, samples, seed=0)  # the search's fixed subset: one per run, not per candidate
    spec = SearchSpace("small").decode(genome)
    return train_candidate(spec, train, data.val, epochs, 32, 1e-2, seed=seed, device="cpu")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--output", default="runs/proxy_rank")
    p.add_argument("--archs", type=int, default=20)
    p.add_argument("--proxies", default="2x1250,1x5000", help="EPOCHSxSAMPLES settings, comma-separated")
    p.add_argument("--seeds", type=int, default=2, help="proxy seeds per genome and setting")
    p.add_argument("--dataset", default="cluttered", help="an embedded dataset (its recipe trains in full)")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()

    out = Path(args.output)
    (out / "specs").mkdir(parents=True, exist_ok=True)
    genomes = spread_genomes(args.archs)
    space = SearchSpace("small")
    settings = [tuple(int(v) for v in s.split("x")) for s in args.proxies.split(",")]
    results_path = out / "proxy.jsonl"
    done = {}
    if results_path.is_file():
        for line in results_path.read_text().splitlines():
            r = json.loads(line)
            done[(r["genome"], r["epochs"], r["samples"], r["seed"])] = r["error"]
    todo = [(g, e, n, s) for g in genomes for (e, n) in settings for s in range(args.seeds)
            if (genome_key(g), e, n, s) not in done]
    started = time.perf_counter()
    pool = futures.ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_init, initargs=(os.getpid(),))
    try:
        pending = {pool.submit(proxy_error, g, e, n, s, args.dataset): (g, e, n, s) for g, e, n, s in todo}
        for future in futures.as_completed(pending):
            g, e, n, s = pending[future]
            error = future.result()
            done[(genome_key(g), e, n, s)] = error
            with results_path.open("a") as fh:
                fh.write(json.dumps({"genome": genome_key(g), "epochs": e, "samples": n, "seed": s,
                                     "error": error}) + "\n")
            print(f"  proxy {e}x{n} seed {s} {genome_key(g)}: error {error:.3f}", flush=True)
    finally:
        pool.shutdown(cancel_futures=True)
    print(f"proxies: {time.perf_counter() - started:.0f} s", flush=True)

    jobs = []
    for g in genomes:
        path = out / "specs" / f"{genome_key(g)}.yaml"
        if not path.is_file():
            space.decode(g).save(path)
        jobs.append(TrainJob(genome_key(g), str(path), 0, str(out / "full" / genome_key(g))))
    full = {}
    for job, summary in train_jobs(jobs, recipe=None if args.dataset == "cluttered" else args.dataset,
                                   workers=args.workers):
        full[job.name] = 1 - test_top1(summary) / 100
        print(f"  full {job.name}: test error {full[job.name]:.3f} ({summary['wall_time_s']:.0f} s)", flush=True)
    print(f"all: {time.perf_counter() - started:.0f} s\n")

    keys = [genome_key(g) for g in genomes]
    truth = np.array([full[k] for k in keys])
    params = np.array([count_spec(space.decode(g))[0] for g in genomes])
    rows = []
    print(f"{len(keys)} genomes, {params.min() / 1e6:.2f}M..{params.max() / 1e6:.2f}M params; fully trained test "
          f"error {truth.min():.3f}..{truth.max():.3f} (std {truth.std(ddof=1):.3f}); "
          f"tau(params, full error) {stats.kendalltau(params, truth)[0]:+.2f}\n")
    print(f"{'proxy':>8} {'passes':>7} {'tau 1 seed':>11} {'tau mean':>9} {'seed std':>9} {'genome std':>11}")
    for e, n in settings:
        errors = np.array([[done[(k, e, n, s)] for s in range(args.seeds)] for k in keys])
        single = [stats.kendalltau(errors[:, s], truth)[0] for s in range(args.seeds)]
        mean_tau = stats.kendalltau(errors.mean(1), truth)[0]
        within = float(np.sqrt(errors.var(axis=1, ddof=1).mean())) if args.seeds > 1 else float("nan")
        across = float(errors.mean(1).std(ddof=1))
        print(f"{e}x{n:>6} {e * n:>7} {np.mean(single):>11.2f} {mean_tau:>9.2f} {within:>9.3f} {across:>11.3f}")
        rows.append({"epochs": e, "samples": n, "tau_single_seed": single, "tau_mean": mean_tau,
                     "seed_std": within, "genome_std": across, "errors": errors.tolist()})
    (out / "summary.json").write_text(json.dumps({"genomes": keys, "params": params.tolist(),
                                                  "full_error": truth.tolist(), "proxies": rows}, indent=2))


if __name__ == "__main__":
    main()
