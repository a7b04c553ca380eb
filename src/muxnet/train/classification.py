"""Image classification as a training task (``muxnet train``): a zoo model or spec on a recipe's data, the
recipe's loss, top-1/top-5 (or AUROC for multi-label data) on the validation and test splits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..data import DataSplits, build_data
from ..data.images import collate_skipping_bad
from ..data.loaders import eval_loader, resolve_workers
from .distributed import Dist
from .epoch import classification_loss
from .eval import evaluate
from .loop import RunInfo
from .optim import build_criterion
from .recipes import validate_recipe
from .report import run_summary


def model_and_data(recipe: dict[str, Any], run_dir: Path | None) -> tuple[nn.Module, DataSplits]:
    """The recipe's data, and its model sized for that data's classes (with the recipe's pretrained weights)."""
    from ..models import create_model, resolve_spec
    from ..models.network import default_pretrained_cfg

    model_cfg = recipe["model"]
    spec, cfg = resolve_spec(model_cfg["name"])
    splits = build_data(recipe["data"], default_pretrained_cfg(spec, **cfg), run_dir)
    overrides = {k: model_cfg[k] for k in ("drop_rate", "drop_path_rate") if model_cfg.get(k) is not None}
    size = recipe["data"]["image_size"]
    overrides["input_size"] = (spec.in_channels, size, size)
    model = create_model(model_cfg["name"], num_classes=splits.num_classes, pretrained=model_cfg.get("pretrained"),
                         **overrides)
    return model, splits


class ClassificationTask:
    """Classification for the loop: owns the data splits, the criterion and the evaluation loaders of a run.

    The best checkpoint is picked on the validation split (the test split where the layout has none) by top-1,
    or by mean AUROC for multi-label data.
    """

    collate = staticmethod(collate_skipping_bad)

    def __init__(self, recipe: dict[str, Any]):
        self.recipe = validate_recipe(recipe)
        self.primary, self.selected_on = "top1", "val"
        self.splits: DataSplits | None = None

    def build(self, run_dir: Path, resume: bool, d: Dist, device: torch.device, log) -> tuple[nn.Module, Dataset]:
        tcfg, dcfg = self.recipe["training"], self.recipe["data"]
        model, splits = model_and_data(self.recipe, run_dir)
        self.splits = splits
        self.criterion = build_criterion(tcfg["loss"], splits.multi_label, tcfg["label_smoothing"])
        self.primary = "auroc" if splits.multi_label else "top1"
        self.selected_on = "val" if splits.val is not None else "test"
        self.channels_last = bool(tcfg["channels_last"])
        batch = dcfg["eval_batch_size"] or 2 * dcfg["batch_size"]
        workers, pin = resolve_workers(dcfg["workers"]), device.type == "cuda"

        def loader(dataset: Dataset | None) -> DataLoader | None:
            return eval_loader(dataset, batch, workers, d.rank, d.world_size, pin) if dataset is not None else None

        self.val_loader = loader(splits.val)
        # ImageNet layout: the val split doubles as the reported test split, evaluated once
        self.test_loader = loader(splits.test) if splits.test is not splits.val else None
        return model, splits.train

    def loss(self, model: nn.Module, batch: Any, device: torch.device) -> tuple[torch.Tensor, int]:
        return classification_loss(model, batch, device, self.criterion, self.splits.multi_label, self.channels_last)

    def evaluate(self, model: nn.Module, device: torch.device, d: Dist, amp: bool) -> dict[str, Any]:
        """Every rank evaluates its shard; :func:`evaluate` combines them."""
        def on(loader: DataLoader | None) -> dict[str, Any] | None:
            if loader is None:
                return None
            return evaluate(model, loader, device, self.splits.multi_label, amp, self.channels_last,
                            self.splits.class_names)

        val, test = on(self.val_loader), on(self.test_loader)
        if self.splits.test is not None and self.splits.test is self.splits.val:
            test = val
        return {"val": val, "test": test}

    def data_line(self) -> str:
        return f"{len(self.splits.train)} train images"

    def summary(self, model: nn.Module, info: RunInfo) -> dict[str, Any]:
        return run_summary(self.recipe, model, self.splits, info.history, info.progress, info.world_size,
                           info.device, info.run_dir, info.wall_time)


__all__ = ["ClassificationTask", "model_and_data"]
