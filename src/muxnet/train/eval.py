"""Evaluation: top-1/top-5 for single-label data, per-class and mean AUROC for multi-label (ChestX-Ray14).

Under DistributedDataParallel every rank evaluates a disjoint shard (no padding) and the counts, or for AUROC
the scores, are combined, so the numbers equal a single-process evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader

from ..data import build_data
from ..data.loaders import eval_loader, resolve_workers
from ..runtime import resolve_device


def auroc_per_class(scores: np.ndarray, targets: np.ndarray) -> list[float]:
    """ROC AUC of each column; ``nan`` where a class has only positives or only negatives (undefined)."""
    from sklearn.metrics import roc_auc_score

    out = []
    for c in range(targets.shape[1]):
        column = targets[:, c]
        out.append(float(roc_auc_score(column, scores[:, c])) if 0 < column.sum() < len(column) else math.nan)
    return out


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, device: torch.device | str = "cpu", multi_label: bool = False,
             amp: bool = False, channels_last: bool = False, class_names: Sequence[str] = ()) -> dict[str, Any]:
    """Loss and accuracy (percent) or AUROC of ``model`` over ``loader``.

    Returns ``{"loss", "top1", "top5", "count"}``, or for multi-label ``{"loss", "auroc", "auroc_per_class",
    "count"}`` (AUROC in percent; the mean skips classes without both labels present).
    """
    device = torch.device(device)
    was_training = model.training
    model.eval()
    loss_sum, count, correct1, correct5 = 0.0, 0, 0, 0
    scores, labels = [], []
    criterion = nn.BCEWithLogitsLoss(reduction="sum") if multi_label else nn.CrossEntropyLoss(reduction="sum")
    for batch in loader:
        if batch is None:
            continue
        images, targets = batch[0].to(device), batch[1].to(device)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, enabled=amp and device.type == "cuda"):
            logits = model(images)
        logits = logits.float()
        loss_sum += float(criterion(logits, targets.float() if multi_label else targets))
        count += len(targets)
        if multi_label:
            scores.append(torch.sigmoid(logits).cpu())
            labels.append(targets.cpu())
        else:
            top = logits.topk(min(5, logits.shape[1]), dim=1).indices
            hits = top.eq(targets[:, None])
            correct1 += int(hits[:, 0].sum())
            correct5 += int(hits.any(dim=1).sum())
    model.train(was_training)

    if _distributed():
        totals = torch.tensor([loss_sum, count, correct1, correct5], dtype=torch.float64)
        dist.all_reduce(totals)
        loss_sum, count, correct1, correct5 = totals.tolist()
        count, correct1, correct5 = int(count), int(correct1), int(correct5)
        if multi_label:
            gathered: list[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, (scores, labels))
            scores = [s for part in gathered for s in part[0]]
            labels = [t for part in gathered for t in part[1]]
    if count == 0:
        raise ValueError("evaluation saw no samples (empty dataset, or every image was unreadable)")
    metrics: dict[str, Any] = {"loss": loss_sum / count, "count": count}
    if multi_label:
        per_class = auroc_per_class(torch.cat(scores).numpy(), torch.cat(labels).numpy())
        defined = [v for v in per_class if not math.isnan(v)]
        metrics["auroc"] = 100.0 * float(np.mean(defined)) if defined else math.nan
        names = list(class_names) or [str(i) for i in range(len(per_class))]
        metrics["auroc_per_class"] = {n: 100.0 * v for n, v in zip(names, per_class)}
    else:
        metrics["top1"] = 100.0 * correct1 / count
        metrics["top5"] = 100.0 * correct5 / count
    return metrics


def evaluate_checkpoint(model_name: str | Path, checkpoint: str | Path | None, recipe: dict[str, Any],
                        split: str = "test", device: str | None = None) -> dict[str, Any]:
    """Metrics of ``model_name`` with weights from ``checkpoint`` (any layout :func:`muxnet.load_checkpoint`
    reads) on the ``split`` of the dataset a recipe's ``data`` section describes."""
    from ..models import create_model, load_checkpoint, resolve_spec
    from ..models.network import default_pretrained_cfg

    spec, cfg = resolve_spec(model_name)
    splits = build_data(recipe["data"], default_pretrained_cfg(spec, **cfg))
    dataset = {"train": splits.train, "val": splits.val, "test": splits.test}.get(split)
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be train, val or test, got {split!r}")
    if dataset is None:
        raise ValueError(f"the {recipe['data']['dataset']} data has no {split!r} split here")
    model = create_model(model_name, num_classes=splits.num_classes)
    if checkpoint:
        load_checkpoint(model, checkpoint)
    dev = resolve_device(device)
    model.to(dev)
    batch = recipe["data"]["eval_batch_size"] or 2 * recipe["data"]["batch_size"]
    loader = eval_loader(dataset, batch, resolve_workers(recipe["data"]["workers"]), pin_memory=dev.type == "cuda")
    metrics = evaluate(model, loader, dev, splits.multi_label, amp=recipe["training"]["amp"],
                       class_names=splits.class_names)
    return {"model": str(model_name), "checkpoint": str(checkpoint) if checkpoint else None,
            "dataset": recipe["data"]["dataset"], "split": split, **metrics}


def evaluate_target(model: str | Path, checkpoint: str | Path | None = None, data: str | Path | None = None,
                    dataset: str | None = None, recipe: str | Path | None = None, split: str = "test",
                    overrides: Sequence[str | tuple[str, Any]] = (), device: str | None = None) -> dict[str, Any]:
    """What ``muxnet eval`` runs: ``model`` is a zoo name or spec file (with ``checkpoint``), or a run directory
    (its recipe's model and data, and its ``best.safetensors`` unless ``checkpoint`` says otherwise)."""
    from .recipes import build_recipe

    run = Path(model)
    if run.is_dir():
        cfg = build_recipe(resume=run, data=data, dataset=dataset, overrides=overrides)
        name = cfg["model"]["name"]
        checkpoint = checkpoint or run / "best.safetensors"
    else:
        cfg = build_recipe(recipe, data, dataset, overrides=[("model.name", str(model)), *overrides])
        name = str(model)
    return evaluate_checkpoint(name, checkpoint, cfg, split, device or cfg["training"]["device"])


__all__ = ["auroc_per_class", "evaluate", "evaluate_checkpoint", "evaluate_target"]
