"""Optimizer, LR schedule and loss, built from a recipe (timm's factories)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

LOSSES = ("cross_entropy", "bce")


def build_optimizer(model: nn.Module, opt_cfg: dict[str, Any]) -> torch.optim.Optimizer:
    """timm's ``create_optimizer_v2``; options left ``null`` in the recipe keep timm's defaults.

    Weight decay skips biases and norm parameters (timm's ``filter_bias_and_bn``), as the TF recipes do.
    """
    from timm.optim import create_optimizer_v2

    extras = {k: opt_cfg[k] for k in ("alpha", "eps", "nesterov") if opt_cfg.get(k) is not None}
    try:
        return create_optimizer_v2(model, opt=opt_cfg["name"], lr=opt_cfg["lr"], weight_decay=opt_cfg["weight_decay"],
                                   momentum=opt_cfg["momentum"], **extras)
    except (AssertionError, ValueError, TypeError) as err:
        raise ValueError(f"optimizer: cannot build {opt_cfg['name']!r} with {extras}: {err}") from err


def build_scheduler(optimizer: torch.optim.Optimizer, sched_cfg: dict[str, Any], steps_per_epoch: int):
    """timm's ``create_scheduler_v2``, updated every optimizer step (``scheduler.step_update(step)``).

    The ImageNet recipe's decay counts from step 0, as in the TF MnasNet/MUXNet code (warmup replaces the
    first 5 epochs of a staircase x0.97-every-3-epochs decay), so the LR right after warmup is 0.016 x 0.97.
    """
    from timm.scheduler import create_scheduler_v2

    kwargs = dict(sched=sched_cfg["name"], num_epochs=sched_cfg["epochs"], warmup_epochs=sched_cfg["warmup_epochs"],
                  warmup_lr=sched_cfg["warmup_lr"], min_lr=sched_cfg["min_lr"], decay_rate=sched_cfg["decay_rate"],
                  step_on_epochs=False, updates_per_epoch=steps_per_epoch)
    if sched_cfg.get("decay_epochs") is not None:
        kwargs["decay_epochs"] = sched_cfg["decay_epochs"]
    scheduler, _ = create_scheduler_v2(optimizer, **kwargs)
    if scheduler is None:
        raise ValueError(f"schedule.name: {sched_cfg['name']!r} gives no schedule; use e.g. 'constant'")
    return scheduler


def lr_at_steps(recipe: dict[str, Any], steps_per_epoch: int, steps: list[int]) -> list[float]:
    """The LR a recipe's schedule sets at each global ``step`` (for checking schedules without training)."""
    params = [nn.Parameter(torch.zeros(1))]
    optimizer = build_optimizer(nn.ParameterList(params), recipe["optimizer"])
    scheduler = build_scheduler(optimizer, recipe["schedule"], steps_per_epoch)
    out = []
    for step in steps:
        scheduler.step_update(step)
        out.append(optimizer.param_groups[0]["lr"])
    return out


def build_criterion(loss: str | None, multi_label: bool, label_smoothing: float = 0.0) -> nn.Module:
    """The recipe's ``training.loss`` for data with one label (``multi_label=False``) or several per image.

    ``None`` follows the labels: softmax cross-entropy for one label, per-class sigmoid BCE for several.
    ``bce`` on single-label data is BCE against one-hot targets (timm's ``BinaryCrossEntropy``, smoothed by
    ``label_smoothing``). Cross-entropy cannot express several labels per image and is refused for them.
    """
    loss = loss or ("bce" if multi_label else "cross_entropy")
    if loss not in LOSSES:
        raise ValueError(f"training.loss must be one of {LOSSES} or null, got {loss!r}")
    if multi_label:
        if loss == "cross_entropy":
            raise ValueError("training.loss: 'cross_entropy' picks one class per image, but this dataset has "
                             "several labels per image; use training.loss=bce (or null)")
        if label_smoothing:
            raise ValueError(f"training.label_smoothing: {label_smoothing} smooths one-of-N targets; "
                             "this dataset has several labels per image, set it to 0")
        return nn.BCEWithLogitsLoss()
    if loss == "bce":
        from timm.loss import BinaryCrossEntropy

        return BinaryCrossEntropy(smoothing=label_smoothing)
    return nn.CrossEntropyLoss(label_smoothing=label_smoothing)


__all__ = ["LOSSES", "build_criterion", "build_optimizer", "build_scheduler", "lr_at_steps"]
