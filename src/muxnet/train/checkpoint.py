"""Checkpoint I/O of a training run.

``last.pt`` holds everything a resume needs (model, optimizer, scheduler, EMA, grad scaler, every rank's RNG
states, the :class:`Progress`, the recipe); ``best``/``last`` ``.pt``/``.safetensors`` hold the evaluated
weights. Every file is written with :func:`muxnet.runtime.atomic_write` (to a temporary name, then renamed), so a
kill during a write leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..runtime import atomic_write

CHECKPOINT_VERSION = 1
LAST = "last.pt"
LAST_PROGRESS = "last.json"


class RunError(RuntimeError):
    """A run directory cannot be started or resumed as asked; the message says why and what to do."""


@dataclass
class Progress:
    """Where a run is; saved in ``last.pt`` so that a resumed run continues at the same batch."""

    epoch: int = 0              # epoch in progress
    batch: int = 0              # batches of that epoch already trained on
    step: int = 0               # optimizer steps so far
    loss_sum: float = 0.0       # of the epoch in progress (kept across a resume so metrics match)
    loss_count: int = 0
    best_metric: float = -math.inf
    best_epoch: int = -1
    wall_time: float = 0.0      # seconds spent in earlier (interrupted) sessions of this run


def save_training_checkpoint(run_dir: Path, parts: dict[str, Any], rngs: list[dict[str, Any]], progress: Progress,
                             recipe: dict[str, Any]) -> None:
    """``last.pt`` from ``parts`` (model, optimizer, scheduler, scaler, ema: objects with a ``state_dict``, or
    ``None``) and a small ``last.json`` saying where the run is."""
    payload = {"version": CHECKPOINT_VERSION, "rng": rngs, "state": asdict(progress), "recipe": recipe,
               **{name: part.state_dict() if part is not None else None for name, part in parts.items()}}
    atomic_write(run_dir / LAST, lambda tmp: torch.save(payload, tmp))
    atomic_write(run_dir / LAST_PROGRESS,
                 json.dumps({"epoch": progress.epoch, "batch": progress.batch, "step": progress.step}))


def read_training_checkpoint(path: Path) -> dict[str, Any]:
    """A ``last.pt``: tensors and plain values only, read with ``weights_only=True``."""
    if not path.is_file():
        raise RunError(f"cannot resume: no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise RunError(f"cannot resume: {path} is unreadable ({type(err).__name__}: {err})") from err
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION:
        raise RunError(f"cannot resume: {path} is not a muxnet training checkpoint (version {CHECKPOINT_VERSION})")
    return state


def save_evaluated_weights(model: nn.Module, run_dir: Path, name: str, meta: dict[str, Any]) -> None:
    """``<name>.safetensors``, and ``<name>.pt`` (weights and ``meta``) unless that is the training checkpoint's
    file: the evaluated ``last`` weights never replace ``last.pt``, even for the moment before it is rewritten,
    where a kill would leave a run that cannot resume."""
    from ..models import save_weights

    if f"{name}.pt" != LAST:
        weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        atomic_write(run_dir / f"{name}.pt", lambda tmp: torch.save({"state_dict": weights, "meta": meta}, tmp))
    atomic_write(run_dir / f"{name}.safetensors", lambda tmp: save_weights(model, tmp))


__all__ = ["CHECKPOINT_VERSION", "Progress", "RunError", "read_training_checkpoint", "save_evaluated_weights",
           "save_training_checkpoint"]
