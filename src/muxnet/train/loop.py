"""The one training loop: a task in, a run directory out, for classification, detection and segmentation alike.

A :class:`TrainingTask` owns what differs between tasks: its model, its data, its loss on a batch and its metric
(how it evaluates, which number picks the best checkpoint, what the summary reports). The loop owns the rest,
written once for every task: processes (single, or the ranks ``torchrun`` starts, wrapped in
DistributedDataParallel), seeding, optimizer and schedule, the EMA of the weights, mixed precision, checkpoints
and bit-exact resume, the progress line, ``metrics.jsonl``, TensorBoard and ``summary.json``.

A run directory holds ``recipe.yaml`` (the fully resolved recipe), ``metrics.jsonl`` (one line per epoch),
``last.pt`` (everything needed to resume), ``best.pt``, ``best.safetensors`` and ``last.safetensors`` (the
evaluated weights: the EMA when one is kept), and at the end ``summary.json``.

Shuffling is a function of (seed, epoch), and RNG states are saved with every checkpoint, so a run killed at any
point and resumed ends with the same weights and metrics as one that was never interrupted (bit for bit on CPU
with no loader workers; with workers, augmentation randomness after the resume point differs).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
import yaml
from torch import nn
from torch.utils.data import Dataset

from ..data.loaders import TrainLoader, resolve_workers
from ..runtime import atomic_write, refuse_existing_run
from .checkpoint import (
    LAST,
    Progress,
    RunError,
    read_training_checkpoint,
    save_evaluated_weights,
    save_training_checkpoint,
)
from .distributed import (
    Dist,
    barrier,
    broadcast_from_main,
    gather,
    mean_across,
    setup_distributed,
    teardown_distributed,
)
from .epoch import TrainStep, train_one_epoch
from .optim import build_optimizer, build_scheduler
from .report import (
    METRICS,
    TensorBoard,
    append_metrics,
    epoch_line,
    metric_value,
    progress_bar,
    read_metrics,
    truncate_metrics,
)
from .rng import rng_state, seed_everything, set_rng_state

RUN_OUTPUTS = (LAST, "summary.json")  # a directory holding either already holds a run


@dataclass
class RunInfo:
    """How a finished run went, besides its metrics: what a task's summary reports."""

    run_dir: Path
    device: torch.device
    world_size: int
    history: list[dict[str, Any]]  # the metrics.jsonl records
    progress: Progress
    wall_time: float


class TrainingTask(Protocol):
    """What the loop asks of a task: the task owns its model, data, loss and metric.

    ``primary`` and ``selected_on`` are read after :meth:`build` (classification knows them only once its data
    says whether it is multi-label and has a validation split).
    """

    recipe: dict[str, Any]  # validated and complete; saved as recipe.yaml (run_training says what the loop reads)
    primary: str            # the metric that picks the best checkpoint (higher is better)
    selected_on: str        # the split whose primary metric picks it: "val" or "test"

    def build(self, run_dir: Path, resume: bool, d: Dist, device: torch.device,
              log: Callable[[str], None]) -> tuple[nn.Module, Dataset]:
        """The model and the training set, built on every rank right after seeding (so every rank starts from
        the same weights); also whatever the task evaluates on."""
        ...

    def collate(self, batch: list) -> Any: ...

    def loss(self, model: nn.Module, batch: Any, device: torch.device) -> tuple[torch.Tensor, int]:
        """The batch's mean loss and how many samples it holds (``model`` may be the DDP wrapper)."""
        ...

    def evaluate(self, model: nn.Module, device: torch.device, d: Dist, amp: bool) -> dict[str, Any]:
        """Metrics per split (``{"val": ..., "test": ...}``, ``None`` for a split the data lacks); every rank
        calls it and every rank gets the same numbers."""
        ...

    def data_line(self) -> str:
        """The data's size for the first log line, e.g. ``1257 train images``."""
        ...

    def summary(self, model: nn.Module, info: RunInfo) -> dict[str, Any]: ...


def default_run_dir(recipe: dict[str, Any]) -> Path:
    name = Path(str(recipe["model"]["name"])).stem
    return Path("runs") / f"{recipe['recipe']}-{name}"


def _prepare_run_dir(run_dir: Path, recipe: dict[str, Any], resume: bool, d: Dist) -> None:
    if d.main:
        if not resume:
            refuse_existing_run(run_dir, RUN_OUTPUTS, "a run",
                                f"resume it (--resume {run_dir}) or choose another output directory", RunError)
        run_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            (run_dir / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    barrier(d)


def _restore(ckpt: dict[str, Any], parts: dict[str, Any], d: Dist, path: Path) -> Progress:
    for name, part in parts.items():
        if part is None:
            continue
        if ckpt.get(name) is None:
            if name == "scaler":  # dense runs saved before the loop kept one: a fresh scaler re-learns its scale
                continue
            raise RunError(f"cannot resume: {path} has no {name} state but this recipe needs one")
        part.load_state_dict(ckpt[name])
    rngs = ckpt["rng"]
    if len(rngs) != d.world_size:
        raise RunError(f"cannot resume: {path} was written by {len(rngs)} process(es), this run has "
                       f"{d.world_size}; resume with the same number of processes")
    set_rng_state(rngs[d.rank])
    return Progress(**ckpt["state"])


def run_training(task: TrainingTask, resume: bool = False, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train ``task`` as its recipe says and return the summary (also written to ``summary.json``; every rank
    gets it).

    The loop reads the sections every task's recipe shares: ``training`` (seed, device, threads, grad_clip,
    checkpoint_every_steps, amp, ema_decay, channels_last, sync_bn), ``data`` (dataset, batch_size, workers),
    ``optimizer``, ``schedule`` and ``output`` (dir, progress, tensorboard). ``resume=True`` continues the run in
    ``output.dir`` from its ``last.pt``; without it, a directory that already holds a run is refused.
    """
    recipe = task.recipe
    t_start = time.time()
    tcfg, dcfg, ocfg = recipe["training"], recipe["data"], recipe["output"]
    if tcfg["threads"]:
        torch.set_num_threads(int(tcfg["threads"]))
    d, device = setup_distributed(tcfg["device"])
    run_dir = Path(ocfg["dir"] or default_run_dir(recipe))
    _prepare_run_dir(run_dir, recipe, resume, d)

    seed = int(tcfg["seed"])
    seed_everything(seed)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    model, train_set = task.build(run_dir, resume, d, device, log)
    channels_last = bool(tcfg["channels_last"])
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    ema = None
    if tcfg["ema_decay"]:
        from timm.utils import ModelEmaV3

        ema = ModelEmaV3(model, decay=tcfg["ema_decay"])
    optimizer = build_optimizer(model, recipe["optimizer"])
    batch_size, pin = dcfg["batch_size"], device.type == "cuda"
    loader = TrainLoader(train_set, batch_size, seed, d.rank, d.world_size, resolve_workers(dcfg["workers"]),
                         pin, task.collate)
    steps_per_epoch = loader.batches_per_epoch
    if steps_per_epoch == 0:
        raise ValueError(f"data.batch_size: {batch_size} leaves no batch of the {len(train_set)} training images")
    scheduler = build_scheduler(optimizer, recipe["schedule"], steps_per_epoch)
    scaler = torch.amp.GradScaler("cuda", enabled=bool(tcfg["amp"]) and device.type == "cuda")
    step = TrainStep(optimizer, scheduler, None, device, scaler=scaler, grad_clip=tcfg["grad_clip"],
                     channels_last=channels_last, ema=ema, batch_loss=task.loss)

    parts = {"model": model, "optimizer": optimizer, "scheduler": scheduler, "scaler": scaler,
             "ema": ema.module if ema is not None else None}
    progress = Progress()
    if resume:
        progress = _restore(read_training_checkpoint(run_dir / LAST), parts, d, run_dir / LAST)
        if d.main:
            truncate_metrics(run_dir / METRICS, progress.epoch)
            log(f"resuming {run_dir} at epoch {progress.epoch}, batch {progress.batch}, step {progress.step}")
    epochs = recipe["schedule"]["epochs"]
    if d.main and progress.step == 0:
        n_params = sum(p.numel() for p in model.parameters())
        log(f"training {recipe['model']['name']} ({n_params / 1e6:.3f}M params) on {dcfg['dataset']}: "
            f"{task.data_line()}, {steps_per_epoch} steps/epoch x {epochs} epochs, {d.world_size} process(es) "
            f"on {device}")

    train_model: nn.Module = model
    if d.world_size > 1:
        if tcfg["sync_bn"]:
            train_model = nn.SyncBatchNorm.convert_sync_batchnorm(train_model)
        train_model = nn.parallel.DistributedDataParallel(
            train_model, device_ids=[device.index] if device.type == "cuda" else None)
    eval_model = ema.module if ema is not None else model

    board = TensorBoard(run_dir, ocfg["tensorboard"] and d.main, log)
    history = read_metrics(run_dir / METRICS) if d.main else []
    every = tcfg["checkpoint_every_steps"]

    def save_last() -> None:
        rngs = gather(rng_state(), d)
        if d.main:
            wall = progress.wall_time + time.time() - t_start
            save_training_checkpoint(run_dir, parts, rngs, Progress(**{**asdict(progress), "wall_time": wall}),
                                     recipe)

    for epoch in range(progress.epoch, epochs):
        progress.epoch = epoch
        t_epoch, count_at_start = time.time(), progress.loss_count
        bar = progress_bar(d.main and ocfg["progress"], steps_per_epoch, progress.batch, f"epoch {epoch + 1}/{epochs}")

        def after_step(bar=bar, t_epoch=t_epoch, count_at_start=count_at_start) -> None:
            if bar is not None:
                bar.update(1)
                seen = (progress.loss_count - count_at_start) * d.world_size
                bar.set_postfix(loss=f"{progress.loss_sum / max(progress.loss_count, 1):.4f}",
                                lr=f"{optimizer.param_groups[0]['lr']:.2e}",
                                img_s=f"{seen / max(time.time() - t_epoch, 1e-9):.0f}")
            if every and progress.step % every == 0 and progress.batch < steps_per_epoch:
                save_last()

        train_one_epoch(train_model, loader.epoch(epoch, progress.batch), step, progress, model, after_step)
        if bar is not None:
            bar.close()

        train_loss = mean_across(progress.loss_sum, progress.loss_count, d)
        splits = task.evaluate(eval_model, device, d, step.amp)
        selected = metric_value(splits.get(task.selected_on), task.primary)
        improved = selected > progress.best_metric
        if improved:
            progress.best_metric, progress.best_epoch = selected, epoch
        record = {"epoch": epoch + 1, "step": progress.step, "lr": optimizer.param_groups[0]["lr"],
                  "train_loss": train_loss, **splits, "epoch_time_s": time.time() - t_epoch}
        progress.epoch, progress.batch, progress.loss_sum, progress.loss_count = epoch + 1, 0, 0.0, 0
        if d.main:
            meta = {"epoch": epoch + 1, **splits}
            if improved:
                save_evaluated_weights(eval_model, run_dir, "best", meta)
            save_evaluated_weights(eval_model, run_dir, "last", meta)
            # the epoch's line goes in before the checkpoint that counts it as done: a kill between the two leaves a
            # line that the resume drops (truncate_metrics) and trains again, never a done epoch without its line
            history.append(record)
            append_metrics(run_dir / METRICS, record)
        save_last()
        if d.main:
            log(epoch_line(record, task.primary))
            board.write(record)

    summary = None
    if d.main:
        info = RunInfo(run_dir, device, d.world_size, history, progress, progress.wall_time + time.time() - t_start)
        summary = task.summary(model, info)
        atomic_write(run_dir / "summary.json", json.dumps(summary, indent=2))
        board.close()
    barrier(d)
    summary = broadcast_from_main(summary, d)
    teardown_distributed(d)
    return summary


def best_record(info: RunInfo) -> dict[str, Any] | None:
    """The metrics.jsonl record of the epoch that picked ``best``."""
    return next((r for r in info.history if r["epoch"] == info.progress.best_epoch + 1), None)


__all__ = ["RunInfo", "TrainingTask", "best_record", "default_run_dir", "run_training"]
