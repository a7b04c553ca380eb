"""What a run reports: ``metrics.jsonl`` (one line per epoch), the log line per epoch, the progress bar,
TensorBoard scalars and ``summary.json``."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..data import BAD_IMAGES_FILE, DataSplits
from ..profiling import profile, profile_spec
from ..runtime import atomic_write
from .checkpoint import Progress

METRICS = "metrics.jsonl"


def metric_value(metrics: dict[str, Any] | None, key: str) -> float:
    """``metrics[key]`` as the number model selection maximises: ``-inf`` when the split or the metric is missing
    or undefined (``nan``: an AUROC without both labels), so that any defined value beats it."""
    value = (metrics or {}).get(key)
    return -math.inf if value is None or math.isnan(value) else float(value)


def read_metrics(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def append_metrics(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a") as fh:
        fh.write(json.dumps(record) + "\n")


def truncate_metrics(path: Path, epochs_done: int) -> None:
    """Drop lines of epochs after the checkpoint (written just before a kill), so none is repeated."""
    kept = [r for r in read_metrics(path) if r["epoch"] <= epochs_done]
    if path.is_file():
        atomic_write(path, "".join(json.dumps(r) + "\n" for r in kept))


def progress_bar(enabled: bool, total: int, initial: int, desc: str):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, leave=False, dynamic_ncols=True)


def epoch_line(record: dict[str, Any], key: str) -> str:
    """The log line of an epoch: its training loss and each evaluated split's ``key`` metric."""
    parts = [f"epoch {record['epoch']}", f"train loss {record['train_loss']:.4f}"]
    for split in ("val", "test"):
        if record.get(split):
            parts.append(f"{split} {key} {record[split][key]:.2f}")
    parts.append(f"{record['epoch_time_s']:.1f}s")
    return ", ".join(parts)


class TensorBoard:
    """Epoch scalars in ``run_dir/tensorboard`` when asked for and TensorBoard is installed."""

    def __init__(self, run_dir: Path, enabled: bool, log: Callable[[str], None]):
        self.writer = None
        if not enabled:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            log("tensorboard is not installed (pip install 'muxnet[tensorboard]'); logging to metrics.jsonl only")
            return
        self.writer = SummaryWriter(str(run_dir / "tensorboard"))

    def write(self, record: dict[str, Any]) -> None:
        if self.writer is None:
            return
        epoch = record["epoch"]
        self.writer.add_scalar("train/loss", record["train_loss"], epoch)
        self.writer.add_scalar("train/lr", record["lr"], epoch)
        for split in ("val", "test"):
            for key, value in (record.get(split) or {}).items():
                if isinstance(value, (int, float)):
                    self.writer.add_scalar(f"{split}/{key}", value, epoch)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def run_summary(recipe: dict[str, Any], model, splits: DataSplits, history: list[dict[str, Any]],
                progress: Progress, world_size: int, device, run_dir: Path, wall_time: float) -> dict[str, Any]:
    size = recipe["data"]["image_size"]
    input_size = (3, size, size)
    counts = profile_spec(model.spec, input_size) if hasattr(model, "spec") else profile(model, input_size)
    best = next((r for r in history if r["epoch"] == progress.best_epoch + 1), None)
    last = history[-1] if history else None
    bad_file = run_dir / BAD_IMAGES_FILE
    return {
        "model": str(recipe["model"]["name"]),
        "recipe": recipe["recipe"],
        "dataset": recipe["data"]["dataset"],
        "num_classes": splits.num_classes,
        "multi_label": splits.multi_label,
        "params": counts.params,
        "madds": counts.madds,
        "input_size": list(input_size),
        "epochs": recipe["schedule"]["epochs"],
        "steps": progress.step,
        "selected_on": "val" if splits.val is not None else "test",
        "best": {"epoch": best["epoch"], "val": best["val"], "test": best["test"]} if best else None,
        "last": {"epoch": last["epoch"], "val": last["val"], "test": last["test"]} if last else None,
        "wall_time_s": wall_time,
        "world_size": world_size,
        "device": str(device),
        "bad_images": len(bad_file.read_text().splitlines()) if bad_file.is_file() else 0,
        "run_dir": str(run_dir),
    }


__all__ = ["METRICS", "TensorBoard", "append_metrics", "epoch_line", "metric_value", "progress_bar",
           "read_metrics", "run_summary", "truncate_metrics"]
