"""Processes and devices: one process, or the ranks ``torchrun`` starts (DDP; gloo on CPU, NCCL on GPUs)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from ..runtime import die_with_parent, resolve_device


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # this run started the process group, so it ends it (a nested run does not)

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device_name: str | None) -> tuple[Dist, torch.device]:
    """Join the process group ``torchrun`` describes through its environment, if any.

    A rank ends with the launcher that started it, so a ``kill -9`` of ``torchrun`` leaves no rank training on.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    use_cuda = torch.cuda.is_available() and device_name in (None, "cuda") or str(device_name).startswith("cuda:")
    if world <= 1:
        return Dist(), resolve_device(device_name)
    die_with_parent()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    owns_group = not dist.is_initialized()
    if owns_group:
        dist.init_process_group("nccl" if use_cuda else "gloo")
    device = torch.device(f"cuda:{local_rank}") if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    return Dist(rank, world, local_rank, owns_group), device


def teardown_distributed(d: Dist) -> None:
    """End the process group this run started.

    A rank that exits with its gloo group still alive leaves the group's threads to the interpreter's shutdown,
    which can abort the process ("terminate called without an active exception") after the run has finished.
    """
    if d.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def mean_across(total: float, count: int, d: Dist) -> float:
    """``total / count`` summed over every rank."""
    if d.world_size > 1:
        t = torch.tensor([total, count], dtype=torch.float64)
        dist.all_reduce(t)
        total, count = t.tolist()
    return total / count if count else float("nan")


def gather(value: Any, d: Dist) -> list[Any]:
    """Every rank's ``value``, in rank order."""
    if d.world_size == 1:
        return [value]
    gathered: list[Any] = [None] * d.world_size
    dist.all_gather_object(gathered, value)
    return gathered


def broadcast_from_main(value: Any, d: Dist) -> Any:
    if d.world_size == 1:
        return value
    shared: list[Any] = [value]
    dist.broadcast_object_list(shared, src=0)
    return shared[0]


def barrier(d: Dist) -> None:
    if d.world_size > 1:
        dist.barrier()


__all__ = ["Dist", "barrier", "broadcast_from_main", "gather", "mean_across", "setup_distributed",
           "teardown_distributed"]
