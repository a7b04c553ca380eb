"""``train``: a recipe in, a run directory out (metrics, checkpoints, summary).

A run directory holds ``recipe.yaml`` (the fully resolved recipe), ``metrics.jsonl`` (one line per epoch),
``last.pt`` (everything needed to resume), ``best.pt``, ``best.safetensors`` and ``last.safetensors`` (the
evaluated weights: the EMA when one is kept), and at the end ``summary.json``.

The same entry point runs single-process or under ``torchrun`` (DistributedDataParallel). Shuffling is a
function of (seed, epoch), and RNG states are saved with every checkpoint, so a run killed at any point and
resumed with ``resume=True`` ends with the same weights and metrics as one that was never interrupted (bit for
bit on CPU with ``data.workers: 0``; with workers, augmentation randomness after the resume point differs).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from ..data import DataSplits, build_data
from ..data.loaders import TrainLoader, eval_loader, resolve_workers
from .checkpoint import (
    LAST,
    Progress,
    RunError,
    atomic_write,
    read_training_checkpoint,
    save_evaluated_weights,
    save_training_checkpoint,
)
from .distributed import Dist, barrier, broadcast_from_main, gather, mean_across, setup_distributed
from .epoch import TrainStep, train_one_epoch
from .eval import evaluate
from .optim import build_criterion, build_optimizer, build_scheduler
from .recipes import load_recipe, validate_recipe
from .report import (
    METRICS,
    TensorBoard,
    append_metrics,
    epoch_line,
    primary_metric,
    progress_bar,
    read_metrics,
    run_summary,
    truncate_metrics,
)
from .rng import rng_state, seed_everything, set_rng_state


def default_run_dir(recipe: dict[str, Any]) -> Path:
    name = Path(str(recipe["model"]["name"])).stem
    return Path("runs") / f"{recipe['recipe']}-{name}"


def _model_and_data(recipe: dict[str, Any], run_dir: Path | None) -> tuple[nn.Module, DataSplits]:
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


def _prepare_run_dir(run_dir: Path, recipe: dict[str, Any], resume: bool, d: Dist) -> None:
    if d.main:
        if not resume and ((run_dir / LAST).exists() or (run_dir / "summary.json").exists()):
            raise RunError(f"{run_dir} already holds a run; resume it (--resume {run_dir}) or choose another "
                           "output directory")
        run_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            (run_dir / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    barrier(d)


def _restore(ckpt: dict[str, Any], parts: dict[str, Any], d: Dist, path: Path) -> Progress:
    for name, part in parts.items():
        if part is None:
            continue
        if ckpt.get(name) is None:
            raise RunError(f"cannot resume: {path} has no {name} state but this recipe needs one")
        part.load_state_dict(ckpt[name])
    rngs = ckpt["rng"]
    if len(rngs) != d.world_size:
        raise RunError(f"cannot resume: {path} was written by {len(rngs)} process(es), this run has "
                       f"{d.world_size}; resume with the same number of processes")
    set_rng_state(rngs[d.rank])
    return Progress(**ckpt["state"])


def train(recipe: dict[str, Any] | str = "digits", resume: bool = False,
          log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train as ``recipe`` says (a recipe mapping or a shipped recipe name) and return the run's summary.

    ``resume=True`` continues the run in ``recipe["output"]["dir"]`` from its ``last.pt``; without it, a
    directory that already holds a run is refused rather than overwritten.
    """
    if isinstance(recipe, str):
        recipe = load_recipe(recipe)
    validate_recipe(recipe)
    t_start = time.time()
    tcfg, dcfg, ocfg = recipe["training"], recipe["data"], recipe["output"]
    if tcfg["threads"]:
        torch.set_num_threads(int(tcfg["threads"]))
    d, device = setup_distributed(tcfg["device"])
    run_dir = Path(ocfg["dir"] or default_run_dir(recipe))
    _prepare_run_dir(run_dir, recipe, resume, d)

    seed = int(tcfg["seed"])
    seed_everything(seed)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    model, splits = _model_and_data(recipe, run_dir)
    criterion = build_criterion(tcfg["loss"], splits.multi_label, tcfg["label_smoothing"])
    model.to(device)
    if tcfg["channels_last"]:
        model.to(memory_format=torch.channels_last)
    ema = None
    if tcfg["ema_decay"]:
        from timm.utils import ModelEmaV3

        ema = ModelEmaV3(model, decay=tcfg["ema_decay"])
    optimizer = build_optimizer(model, recipe["optimizer"])
    batch_size, workers, pin = dcfg["batch_size"], resolve_workers(dcfg["workers"]), device.type == "cuda"
    loader = TrainLoader(splits.train, batch_size, seed, d.rank, d.world_size, workers, pin)
    steps_per_epoch = loader.batches_per_epoch
    if steps_per_epoch == 0:
        raise ValueError(f"data.batch_size: {batch_size} leaves no batch of the {len(splits.train)} training images")
    scheduler = build_scheduler(optimizer, recipe["schedule"], steps_per_epoch)
    scaler = torch.amp.GradScaler("cuda", enabled=bool(tcfg["amp"]) and device.type == "cuda")
    step = TrainStep(optimizer, scheduler, criterion, device, splits.multi_label, scaler, tcfg["grad_clip"],
                     tcfg["channels_last"], ema)
    eval_bs = dcfg["eval_batch_size"] or 2 * batch_size
    val_loader = eval_loader(splits.val, eval_bs, workers, d.rank, d.world_size, pin) if splits.val else None
    test_loader = (eval_loader(splits.test, eval_bs, workers, d.rank, d.world_size, pin)
                   if splits.test is not None and splits.test is not splits.val else None)

    parts = {"model": model, "optimizer": optimizer, "scheduler": scheduler, "scaler": scaler,
             "ema": ema.module if ema is not None else None}
    progress = Progress()
    if resume:
        progress = _restore(read_training_checkpoint(run_dir / LAST), parts, d, run_dir / LAST)
        if d.main:
            truncate_metrics(run_dir / METRICS, progress.epoch)
            log(f"resuming {run_dir} at epoch {progress.epoch}, batch {progress.batch}, step {progress.step}")
    if d.main and progress.step == 0:
        n_params = sum(p.numel() for p in model.parameters())
        log(f"training {recipe['model']['name']} ({n_params / 1e6:.3f}M params) on {dcfg['dataset']}: "
            f"{len(splits.train)} train images, {steps_per_epoch} steps/epoch x {recipe['schedule']['epochs']} "
            f"epochs, {d.world_size} process(es) on {device}")

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
    epochs = recipe["schedule"]["epochs"]

    def save_last() -> None:
        rngs = gather(rng_state(), d)
        if d.main:
            wall = progress.wall_time + time.time() - t_start
            save_training_checkpoint(run_dir, parts, rngs, Progress(**{**asdict(progress), "wall_time": wall}),
                                     recipe)

    def evaluate_on(eval_split_loader):
        if eval_split_loader is None:
            return None
        return evaluate(eval_model, eval_split_loader, device, splits.multi_label, step.amp, tcfg["channels_last"],
                        splits.class_names)

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
        val, test = evaluate_on(val_loader), evaluate_on(test_loader)
        if splits.test is not None and splits.test is splits.val:
            test = val  # ImageNet layout: the val split is the reported one
        selected = val if val is not None else test
        improved = primary_metric(selected) > progress.best_metric
        if improved:
            progress.best_metric, progress.best_epoch = primary_metric(selected), epoch
        record = {"epoch": epoch + 1, "step": progress.step, "lr": optimizer.param_groups[0]["lr"],
                  "train_loss": train_loss, "val": val, "test": test, "epoch_time_s": time.time() - t_epoch}
        progress.epoch, progress.batch, progress.loss_sum, progress.loss_count = epoch + 1, 0, 0.0, 0
        if d.main:
            meta = {"epoch": epoch + 1, "val": val, "test": test}
            if improved:
                save_evaluated_weights(eval_model, run_dir, "best", meta)
            save_evaluated_weights(eval_model, run_dir, "last", meta)
        save_last()
        if d.main:
            history.append(record)
            append_metrics(run_dir / METRICS, record)
            log(epoch_line(record, splits.multi_label))
            board.write(record)

    summary = None
    if d.main:
        summary = run_summary(recipe, model, splits, history, progress, d.world_size, device, run_dir,
                              progress.wall_time + time.time() - t_start)
        atomic_write(run_dir / "summary.json", json.dumps(summary, indent=2))
        board.close()
    barrier(d)
    return broadcast_from_main(summary, d)


__all__ = ["default_run_dir", "train"]
