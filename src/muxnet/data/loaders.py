"""DataLoaders for training and evaluation, single-process or sharded over DDP ranks.

Training order is a function of (seed, epoch) and an epoch can start part-way (a resumed run skips the
batches it already trained on). Loader workers die with the process that iterates the loader, and their
number defaults to the cores this process may use.
"""

from __future__ import annotations

import os
from functools import partial

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from ..runtime.processes import available_cpus, dataloader_worker_init
from .images import collate_skipping_bad

MAX_DEFAULT_WORKERS = 8


def resolve_workers(workers: int | None) -> int:
    """``workers``, or when ``None`` the cores available to each process on this machine (at most 8)."""
    if workers is not None:
        return int(workers)
    per_machine = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return max(0, min(MAX_DEFAULT_WORKERS, available_cpus() // per_machine))


def _loader_options(workers: int) -> dict:
    if not workers:
        return {}
    return {"worker_init_fn": partial(dataloader_worker_init, parent_pid=os.getpid())}


class ResumableSampler(DistributedSampler):
    """torch's ``DistributedSampler`` (order fixed by seed and epoch, equal shards) that can start an epoch
    part-way, after the samples a resumed run has already trained on."""

    skip = 0

    def __iter__(self):
        indices = list(super().__iter__())
        return iter(indices[self.skip:])

    def __len__(self) -> int:
        return super().__len__() - self.skip


class TrainLoader:
    """Shuffled batches for one rank; :meth:`epoch` fixes the order (and the workers' seeds) of an epoch."""

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, rank: int = 0, world_size: int = 1,
                 workers: int = 0, pin_memory: bool = False, collate_fn=collate_skipping_bad):
        self.seed, self.batch_size = seed, batch_size
        self.sampler = ResumableSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
        self.generator = torch.Generator()
        drop_last = len(self.sampler) >= batch_size  # a last batch of one sample would break BatchNorm
        self.loader = DataLoader(dataset, batch_size=batch_size, sampler=self.sampler, num_workers=workers,
                                 drop_last=drop_last, collate_fn=collate_fn, pin_memory=pin_memory,
                                 generator=self.generator, **_loader_options(workers))
        self.batches_per_epoch = len(self.loader)

    def epoch(self, epoch: int, skip_batches: int = 0) -> DataLoader:
        self.sampler.set_epoch(epoch)
        if hasattr(self.loader.dataset, "set_epoch"):  # data drawn anew each epoch (RendersPerEpoch)
            self.loader.dataset.set_epoch(epoch)
        self.sampler.skip = skip_batches * self.batch_size
        self.generator.manual_seed(self.seed * 100003 + epoch)  # worker seeds: a function of the epoch only
        return self.loader


class ShardSampler(Sampler[int]):
    """Indices ``rank, rank + world, ...`` in order: each sample is evaluated exactly once across ranks."""

    def __init__(self, length: int, rank: int = 0, world_size: int = 1):
        self.indices = list(range(rank, length, world_size))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def eval_loader(dataset: Dataset, batch_size: int, workers: int = 0, rank: int = 0, world_size: int = 1,
                pin_memory: bool = False) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, sampler=ShardSampler(len(dataset), rank, world_size),
                      num_workers=workers, collate_fn=collate_skipping_bad, pin_memory=pin_memory,
                      **_loader_options(workers))


__all__ = ["ResumableSampler", "ShardSampler", "TrainLoader", "eval_loader", "resolve_workers"]
