"""One training epoch: the step that the training loop (every task) and the search's proxy evaluation run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .checkpoint import Progress


@dataclass
class TrainStep:
    """What one optimizer step needs besides the batch."""

    optimizer: torch.optim.Optimizer
    scheduler: Any                      # timm scheduler, stepped per update
    criterion: nn.Module | None
    device: torch.device
    multi_label: bool = False
    scaler: torch.amp.GradScaler | None = None  # None: no mixed precision
    grad_clip: float | None = None
    channels_last: bool = False
    ema: Any = None                     # timm ModelEmaV3, updated after every step
    # the task's loss: (model, batch, device) -> (loss, samples); None: classification_loss with the criterion
    batch_loss: Callable[[nn.Module, Any, torch.device], tuple[torch.Tensor, int]] | None = None

    @property
    def amp(self) -> bool:
        return self.scaler is not None and self.scaler.is_enabled()

    def loss(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, int]:
        if self.batch_loss is not None:
            return self.batch_loss(model, batch, self.device)
        return classification_loss(model, batch, self.device, self.criterion, self.multi_label, self.channels_last)


def classification_loss(model: nn.Module, batch: Any, device: torch.device, criterion: nn.Module,
                        multi_label: bool = False, channels_last: bool = False) -> tuple[torch.Tensor, int]:
    """``criterion`` on the logits of a batch of (images, labels); computed in float32 even under autocast."""
    pin = device.type == "cuda"
    images, targets = batch[0].to(device, non_blocking=pin), batch[1].to(device, non_blocking=pin)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    logits = model(images)
    return criterion(logits.float(), targets.float() if multi_label else targets), len(targets)


def train_one_epoch(model: nn.Module, batches: Iterable, step: TrainStep, progress: Progress,
                    params_of: nn.Module | None = None, after_step: Callable[[], None] | None = None) -> int:
    """Train ``model`` on every batch of ``batches`` and return how many samples it saw.

    ``progress`` counts steps, batches and the running loss (a batch whose every image was unreadable,
    ``None``, still counts as a step, so the schedule and a resume stay aligned). ``params_of`` is the module
    whose gradients are clipped and whose weights the EMA follows (the unwrapped model under DDP).
    ``after_step`` runs after each step (progress bar, mid-epoch checkpoints). A non-finite loss raises
    ``FloatingPointError``.
    """
    params_of = params_of or model
    scaler = step.scaler or torch.amp.GradScaler(step.device.type, enabled=False)
    model.train()
    seen = 0
    for batch in batches:
        if batch is not None:
            with torch.autocast(step.device.type, enabled=step.amp):
                loss, count = step.loss(model, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training diverged: the loss became {loss.item()} at epoch "
                                         f"{progress.epoch}, step {progress.step}; lower optimizer.lr or set "
                                         "training.grad_clip")
            step.optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if step.grad_clip:
                scaler.unscale_(step.optimizer)
                nn.utils.clip_grad_norm_(params_of.parameters(), step.grad_clip)
            scaler.step(step.optimizer)
            scaler.update()
            progress.loss_sum += float(loss.detach()) * count
            progress.loss_count += count
            seen += count
        progress.step += 1
        progress.batch += 1
        step.scheduler.step_update(num_updates=progress.step)
        if step.ema is not None:
            step.ema.update(params_of, step=progress.step)
        if after_step is not None:
            after_step()
    return seen


__all__ = ["TrainStep", "classification_loss", "train_one_epoch"]
