"""``train_and_evaluate``: a short training run and its held-out error, the search's proxy evaluation."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from ..data.loaders import TrainLoader, eval_loader
from ..runtime import resolve_device
from .checkpoint import Progress
from .epoch import TrainStep, train_one_epoch
from .eval import evaluate
from .optim import build_criterion, build_optimizer, build_scheduler
from .recipes import load_recipe
from .rng import seed_everything


def train_and_evaluate(model: nn.Module, train_set: Dataset, heldout_set: Dataset, epochs: int = 5,
                       recipe: str | dict[str, Any] = "digits", overrides: tuple[str, ...] = (),
                       seed: int = 0, device: str | torch.device | None = None, multi_label: bool = False,
                       amp: bool | None = None, channels_last: bool | None = None) -> float:
    """Train ``model`` for ``epochs`` on ``train_set`` and return its held-out error in [0, 1].

    The same epoch function as :func:`muxnet.train.train`, with the optimizer, schedule and loss of ``recipe``
    (by default the fast ``digits`` recipe, with ``schedule.epochs`` set to ``epochs``), no files written, one
    process. For multi-label data the error is ``1 - mean AUROC``. A diverging run raises
    ``FloatingPointError`` so that a caller (the search) records the candidate as failed instead of ranking it.

    ``device`` defaults to CUDA when this process sees it; ``amp`` (float16 autocast with a gradient scaler) and
    ``channels_last`` default to on for CUDA, where they speed up the depthwise and 1x1 convolutions, and off on
    the CPU, where both slow them down.
    """
    if isinstance(recipe, str):
        recipe = load_recipe(recipe, [("schedule.epochs", epochs), ("training.seed", seed), *overrides])
    device = resolve_device(device)
    on_cuda = device.type == "cuda"
    amp = on_cuda if amp is None else amp
    channels_last = on_cuda if channels_last is None else channels_last
    seed_everything(seed)
    model.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    tcfg = recipe["training"]
    optimizer = build_optimizer(model, recipe["optimizer"])
    loader = TrainLoader(train_set, recipe["data"]["batch_size"], seed, pin_memory=on_cuda)
    scheduler = build_scheduler(optimizer, recipe["schedule"], loader.batches_per_epoch)
    step = TrainStep(optimizer, scheduler, build_criterion(tcfg["loss"], multi_label, tcfg["label_smoothing"]),
                     device, multi_label, grad_clip=tcfg["grad_clip"], channels_last=channels_last,
                     scaler=torch.amp.GradScaler(device.type, enabled=amp) if amp else None)
    progress = Progress()
    for epoch in range(recipe["schedule"]["epochs"]):
        progress.epoch = epoch
        train_one_epoch(model, loader.epoch(epoch), step, progress)
    heldout = eval_loader(heldout_set, 2 * recipe["data"]["batch_size"], pin_memory=on_cuda)
    metrics = evaluate(model, heldout, device, multi_label, amp=amp, channels_last=channels_last)
    return 1.0 - (metrics["auroc"] if multi_label else metrics["top1"]) / 100.0


__all__ = ["train_and_evaluate"]
