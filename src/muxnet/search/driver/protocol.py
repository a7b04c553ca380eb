"""The paper's search protocol as a preset, and what a search will cost before it starts (``--dry-run``).

The paper (section 5.1) proxy-trained each candidate for 5 epochs on 50K images randomly sampled from the
ImageNet training set at 224x224, with a global population of 40 evolved for 100 generations by MOEA/D with
PBI (theta 5) around four reference points "with preferences on model size ranging from 1.5M to 5M, MAdds
ranging from 60M to 300M, and predictive accuracy fixed at 1" (about 11 days on sixteen 2080Ti GPUs). The four
points themselves are not published. The preset's targets are the published budgets of the two searched models
the ``imagenet224`` space (MUXNet-m's skeleton) reaches, MUXNet-m (3.4M, 218M) and MUXNet-l (4.0M, 318M), the
upper end of the stated range (5M, 300M), and the space's cheapest corner (2.6M, 150M): MUXNet-xs (1.8M, 66M)
and -s (2.4M, 117M), the lower end, lie below what this skeleton's widths can reach (its cheapest genome has
2.55M params and 141M MAdds) and were derived with narrower widths (``docs/muxnet_xs_s.md``).
"""

from __future__ import annotations

import math
import statistics
import time
from pathlib import Path
from typing import Any

PAPER_TARGETS = "params=2.6M,madds=150M;params=3.4M,madds=218M;params=4.0M,madds=318M;params=5M,madds=300M"
PROTOCOLS: dict[str, dict[str, Any]] = {
    "paper": dict(preset="imagenet224", targets=PAPER_TARGETS, population=40, generations=100, epochs=5,
                  max_train_samples=50_000, scalarization="pbi", algorithm="moead"),
}
# without --data, a dry run of the paper's protocol assumes ImageNet's validation split
ASSUMED_VAL_IMAGES = 50_000


def _split_sizes(config, data=None) -> tuple[int, int, str]:
    """Training images per epoch and validation images of ``config``'s data, and where the figures come from."""
    if data is not None:
        if data.embedded or data.cache_path().is_dir():
            meta = data.prepare()
            return meta["train"], meta["val"], "the data"
        from ...data.datasets import READERS
        from ...data.splits import ReadOptions
        from ...data.tensors import PROXY_VAL_FRACTION

        options = ReadOptions(data.image_size, val_fraction=PROXY_VAL_FRACTION, seed=data.seed)
        splits = READERS[data.dataset](Path(data.root), options)  # lists the files, reads none
        val = splits.val if splits.val is not None else splits.test
        train = min(len(splits.train), config.max_train_samples or len(splits.train))
        return train, len(val), f"the files in {data.root}"
    if config.max_train_samples is None:
        raise ValueError("--dry-run: give --data (or --max-train-samples) so the training set's size is known")
    return config.max_train_samples, ASSUMED_VAL_IMAGES, "assumed: no --data"


def time_training_step(spec, batch_size: int, device: str | None = "auto", threads: int | None = None,
                       steps: int = 3) -> tuple[float, float, str]:
    """Seconds of one training step (forward, backward, AdamW update; median of ``steps`` after one warm-up) and
    of one evaluation batch of twice the size, for ``spec`` on random images at its input size, on the device a
    worker would pick; and that device."""
    import torch
    from torch import nn

    from ...models.network import build_model
    from ..evaluators import worker_device

    if threads:
        torch.set_num_threads(threads)
    target = worker_device(device)
    on_cuda = target.type == "cuda"
    layout = torch.channels_last if on_cuda else torch.preserve_format
    model = build_model(spec).to(target, memory_format=layout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler(target.type, enabled=on_cuda)
    images = torch.randn(batch_size, *spec.input_size, device=target).contiguous(memory_format=layout)
    labels = torch.randint(0, spec.num_classes, (batch_size,), device=target)

    def sync():
        if on_cuda:
            torch.cuda.synchronize(target)

    def train_step():
        with torch.autocast(target.type, enabled=on_cuda):
            loss = nn.functional.cross_entropy(model(images).float(), labels)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    def timed(fn) -> float:
        sync()
        start = time.perf_counter()
        fn()
        sync()
        return time.perf_counter() - start

    model.train()
    train_step()
    train = statistics.median(timed(train_step) for _ in range(steps))
    model.eval()
    double = torch.cat([images, images])
    with torch.inference_mode(), torch.autocast(target.type, enabled=on_cuda):
        model(double)
        evaluation = statistics.median(timed(lambda: model(double)) for _ in range(steps))
    return train, evaluation, str(target)


def estimate_cost(config, data=None, executor: str = "process", workers: int | None = None,
                  ray_address: str | None = None, device: str | None = "auto", gpus_per_candidate: float | None = None,
                  cpus_per_candidate: float = 1.0, space=None) -> dict[str, Any]:
    """What the search ``config`` will cost: candidates, seconds per candidate (one timed step on this worker,
    scaled to the candidate's steps), workers and the estimated wall-clock, GPU- and CPU-hours. Only proxy
    training is estimated (the other evaluators cost next to nothing)."""
    import numpy as np

    from ..space import SearchSpace

    space = space or SearchSpace(config.preset)
    rng = np.random.default_rng(config.seed)
    spec = space.decode(space.sample(rng))  # a typical candidate: the space's genomes vary about 3x in cost
    train_images, val_images, sizes_from = _split_sizes(config, data)
    slots, threads, where = _workers(executor, workers, ray_address, device, gpus_per_candidate, cpus_per_candidate)
    step, eval_batch, on = time_training_step(spec, config.batch_size, device, threads)
    steps = max(1, train_images // config.batch_size) * config.epochs
    eval_batches = math.ceil(val_images / (2 * config.batch_size))
    seconds = steps * step + eval_batches * eval_batch
    candidates = config.budget
    rounds = (config.generations + 1) * math.ceil(config.population / slots)
    wall = rounds * seconds
    gpus = gpus_per_candidate if gpus_per_candidate is not None else (1.0 if on.startswith("cuda") else 0.0)
    return {"candidates": candidates, "population": config.population, "generations": config.generations,
            "train_images": train_images, "val_images": val_images, "sizes_from": sizes_from,
            "epochs": config.epochs, "batch_size": config.batch_size, "input_size": list(spec.input_size),
            "step_seconds": step, "eval_batch_seconds": eval_batch, "device": on, "threads": threads,
            "steps": steps, "eval_batches": eval_batches, "candidate_seconds": seconds, "workers": slots,
            "executor": where, "wall_seconds": wall, "gpu_hours": candidates * seconds * gpus / 3600,
            "cpu_hours": candidates * seconds * (threads if executor != "ray" else cpus_per_candidate) / 3600,
            "params": spec_params(spec)}


def spec_params(spec) -> int:
    from ...profiling import count_spec

    return int(count_spec(spec)[0])


def _workers(executor, workers, ray_address, device, gpus_per_candidate, cpus_per_candidate):
    """(candidates at once, intra-op threads per candidate, a description) for the executor that would run."""
    from ...runtime.processes import available_cpus

    if executor == "inprocess":
        return 1, available_cpus(), "in-process"
    if executor == "ray":
        import ray

        owns = not ray.is_initialized()
        if owns:
            kwargs = {"address": ray_address} if ray_address else {"num_cpus": workers or available_cpus()}
            ray.init(include_dashboard=False, log_to_driver=False, **kwargs)
        try:
            resources = ray.cluster_resources()
        finally:
            if owns:
                ray.shutdown()
        gpus = gpus_per_candidate
        if gpus is None:
            gpus = 1.0 if resources.get("GPU", 0) > 0 and device != "cpu" else 0.0
        counts = [resources.get("CPU", 0) / cpus_per_candidate]
        if gpus:
            counts.append(resources.get("GPU", 0) / gpus)
        slots = max(1, int(min(counts)))
        return (slots, max(1, int(cpus_per_candidate)),
                f"Ray at {ray_address or 'a local instance'}: {resources.get('CPU', 0):g} CPUs, "
                f"{resources.get('GPU', 0):g} GPUs, {cpus_per_candidate:g} CPU and {gpus:g} GPU per candidate")
    import torch

    gpus = torch.cuda.device_count() if device != "cpu" and torch.cuda.is_available() else 0
    slots = workers or (gpus if gpus > 1 else available_cpus())
    return slots, max(1, available_cpus() // slots), (f"process pool, one worker per GPU ({gpus})" if gpus > 1
                                                       else "process pool")


def format_estimate(e: dict[str, Any], label: str) -> str:
    """The estimate as the lines ``--dry-run`` prints."""
    def hours(seconds: float) -> str:
        if seconds >= 3600:
            return f"{seconds / 3600:,.1f} h ({seconds / 86400:,.1f} days)"
        return f"{seconds:,.0f} s" if seconds >= 100 else f"{seconds:.1f} s"

    size = "x".join(str(v) for v in e["input_size"][1:])
    per_epoch = e["steps"] // e["epochs"]
    return "\n".join([
        f"dry run: {label}; nothing is trained",
        f"  candidates      {e['candidates']:,} at most (population {e['population']} x {e['generations'] + 1} "
        "generations with the initial one; a genome proposed twice is trained once)",
        f"  data            {e['train_images']:,} training and {e['val_images']:,} validation images at {size} "
        f"({e['sizes_from']}), {e['epochs']} epochs of {per_epoch:,} steps of {e['batch_size']}",
        f"  one step        {e['step_seconds']:.3f} s training, {e['eval_batch_seconds']:.3f} s per evaluation "
        f"batch of {2 * e['batch_size']} (measured now on {e['device']}, {e['threads']} thread(s), a random "
        f"{e['params'] / 1e6:.2f}M-param candidate; median of 3 after a warm-up)",
        f"  one candidate   {hours(e['candidate_seconds'])} = {e['steps']:,} steps + {e['eval_batches']:,} "
        "evaluation batches",
        f"  workers         {e['workers']} ({e['executor']})",
        f"  wall-clock      {hours(e['wall_seconds'])}: each generation waits for its slowest round",
        f"  GPU-hours       {e['gpu_hours']:,.1f}" + ("" if e["device"].startswith("cuda") else
                                                     "  (this worker has no GPU: candidates train on the CPU)"),
        f"  CPU-core-hours  {e['cpu_hours']:,.1f}",
    ])


__all__ = ["PAPER_TARGETS", "PROTOCOLS", "estimate_cost", "format_estimate", "time_training_step"]
