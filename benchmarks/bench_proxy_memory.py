"""A proxy worker's memory and time per candidate: the memory-mapped uint8 cache against the in-memory tensors.

    python benchmarks/bench_proxy_memory.py [--images 1000 8000] [--size 32] [--epochs 1] [--root DIR]

Generates class folders of JPEGs at 224x224 (10 classes; ``--root``, reused when present), writes the search's
uint8 proxy cache of each at ``--size`` (timed), then runs one proxy worker per (data, path) in a fresh process:
it builds its datasets as a search worker does (``cache``: :class:`muxnet.data.proxy.ProxyData` memory-maps the
cache; ``memory``: :func:`muxnet.data.load_tensors` decodes every image into float32 tensors, what each worker
held before), then proxy-trains one candidate (the ``small`` preset's cheapest genome, ``--epochs``, batch 32, one
thread, on the CPU). A thread samples ``/proc/self/smaps_rollup`` every 20 ms; the table shows the peaks of the
worker's anonymous memory (its private heap: tensors, the model, batches), its USS (private pages, which also
counts cache pages only this process has mapped) and its file-backed resident pages (the cache's pages in the
page cache, shared by every worker of a machine and dropped under memory pressure), and the seconds to build the
datasets and to train the candidate. The check: the cache path's peak anonymous memory with the most images is
within 25% of that with the fewest.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

CLASSES = 10
FIELDS = ("Rss", "Anonymous", "Private_Clean", "Private_Dirty", "Shared_Clean", "Shared_Dirty")


def make_folders(root: Path, count: int, seed: int = 0) -> Path:
    """``count`` JPEGs at 224x224 in ``root/<class>/`` (a tinted noise texture per class, so classes differ)."""
    from PIL import Image

    if (root / ".complete").is_file():
        return root
    rng = np.random.default_rng(seed)
    tints = rng.integers(40, 215, (CLASSES, 3))
    for i in range(count):
        label = i % CLASSES
        folder = root / f"class{label:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        noise = rng.integers(-40, 40, (56, 56, 3))
        pixels = np.clip(tints[label] + noise, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).resize((224, 224), Image.BILINEAR).save(folder / f"{i:05d}.jpg", quality=90)
    (root / ".complete").write_text("")
    return root


def memory() -> dict[str, int]:
    """This process's resident memory by kind, in bytes (Linux ``smaps_rollup``)."""
    values = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in FIELDS:
            values[key] = int(rest.split()[0]) * 1024
    values["USS"] = values["Private_Clean"] + values["Private_Dirty"]
    values["file"] = values["Rss"] - values["Anonymous"]
    return values


def worker(path: str, root: str, size: int, epochs: int, cache_dir: str, queue) -> None:
    """One proxy worker: build the datasets, train one candidate, report peaks and times."""
    import torch

    torch.set_num_threads(1)
    from muxnet.data import load_tensors
    from muxnet.data.proxy import ProxyData
    from muxnet.search.evaluators import EvalTask, ProxyTrainingEvaluator, train_candidate
    from muxnet.search.space import SearchSpace, genome_key

    space = SearchSpace("small")
    genome = space.extreme_genomes()[0]
    spec = space.decode(genome)
    peaks: dict[str, int] = {}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            for key, value in memory().items():
                peaks[key] = max(peaks.get(key, 0), value)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    baseline = memory()
    sampler.start()
    started = time.perf_counter()
    if path == "cache":
        data = ProxyData.create("imagefolder", root, size, cache_dir=cache_dir)
        evaluator = ProxyTrainingEvaluator(data, epochs=epochs, batch_size=32, lr=1e-2, device="cpu")
        data.load()
        loaded = time.perf_counter()
        error = evaluator.evaluate(EvalTask(genome_key(genome), spec.to_dict(), 1, 1, 0))
    else:
        splits = load_tensors(root, size, seed=0)
        loaded = time.perf_counter()
        error = train_candidate(spec, splits.train, splits.val, epochs, 32, 1e-2, seed=0, device="cpu")
    done = time.perf_counter()
    stop.set()
    sampler.join()
    for key, value in memory().items():
        peaks[key] = max(peaks.get(key, 0), value)
    queue.put({"peaks": peaks, "baseline": baseline, "load_s": loaded - started, "train_s": done - loaded,
               "error": error})


def run_worker(*args) -> dict:
    context = multiprocessing.get_context("spawn")  # a fresh process: nothing inherited from this one
    queue = context.Queue()
    process = context.Process(target=worker, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, nargs="+", default=[1000, 8000])
    parser.add_argument("--size", type=int, default=32, help="the proxy's resolution (the cache's)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--root", type=Path, help="where the JPEG folders are generated (default: a temporary one)")
    parser.add_argument("--paths", nargs="+", default=["cache", "memory"], choices=["cache", "memory"])
    args = parser.parse_args(argv)
    from muxnet.data.proxy import ProxyData, write_cache

    root = args.root or Path(tempfile.mkdtemp(prefix="proxy-memory-"))
    cache_dir = tempfile.mkdtemp(prefix="proxy-cache-")
    rows = []
    for count in args.images:
        started = time.perf_counter()
        folder = make_folders(root / f"jpeg{count}", count)
        generated = time.perf_counter() - started
        data = ProxyData.create("imagefolder", folder, args.size, cache_dir=cache_dir)
        started = time.perf_counter()
        write_cache(data, data.cache_path())
        cache_s = time.perf_counter() - started
        cache_bytes = sum(f.stat().st_size for f in data.cache_path().glob("*.u8"))
        print(f"{count} JPEGs: generated in {generated:.0f} s; cache at {args.size}px written in {cache_s:.1f} s "
              f"({cache_bytes / 2**20:.1f} MiB)", flush=True)
        for path in args.paths:
            result = run_worker(path, str(folder), args.size, args.epochs, cache_dir)
            rows.append({"images": count, "path": path, **result})
            print(json.dumps(rows[-1]), flush=True)

    mib = 2 ** 20
    print(f"\nproxy worker, one candidate ({args.epochs} epoch(s) at {args.size}x{args.size}, batch 32, 1 thread); "
          "peaks in MiB over the worker's life")
    print(f"{'images':>6}  {'path':<6}  {'anon':>7}  {'USS':>7}  {'file-backed':>11}  {'RSS':>7}  "
          f"{'data s':>7}  {'candidate s':>11}  {'error':>6}")
    for r in rows:
        p = r["peaks"]
        print(f"{r['images']:>6}  {r['path']:<6}  {p['Anonymous'] / mib:7.0f}  {p['USS'] / mib:7.0f}  "
              f"{p['file'] / mib:11.0f}  {p['Rss'] / mib:7.0f}  {r['load_s']:7.1f}  {r['train_s']:11.1f}  "
              f"{r['error']:6.3f}")
    by = {(r["images"], r["path"]): r for r in rows}
    few, many = min(args.images), max(args.images)
    for path in args.paths:
        ratio = by[(many, path)]["peaks"]["Anonymous"] / by[(few, path)]["peaks"]["Anonymous"]
        print(f"{path}: peak anonymous memory with {many} images / with {few}: {ratio:.2f}")
    for count in args.images:
        if all((count, p) in by for p in ("cache", "memory")):
            c, m = by[(count, "cache")], by[(count, "memory")]
            print(f"{count} images: candidate seconds cache / memory {c['train_s'] / m['train_s']:.2f}; "
                  f"peak anonymous cache / memory {c['peaks']['Anonymous'] / m['peaks']['Anonymous']:.2f}")
    if "cache" in args.paths:
        ratio = by[(many, "cache")]["peaks"]["Anonymous"] / by[(few, "cache")]["peaks"]["Anonymous"]
        print(f"check: cache path within 25% ({ratio:.2f}): {'ok' if abs(ratio - 1) < 0.25 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
