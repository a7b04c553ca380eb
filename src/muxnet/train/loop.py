"""The training loop: a recipe in, a run directory out (metrics, checkpoints, summary).

A run directory holds ``recipe.yaml`` (the fully resolved recipe), ``metrics.jsonl`` (one line per epoch),
``last.pt`` (everything needed to resume: model, optimizer, scheduler, EMA, grad scaler, every rank's RNG
states, epoch, step and the position inside the epoch), ``best.pt``, ``best.safetensors`` and
``last.safetensors`` (the evaluated weights: the EMA when one is kept), and at the end ``summary.json``.

The same entry point runs single-process or under ``torchrun`` (DistributedDataParallel; gloo on CPU, NCCL on
GPUs). Shuffling is a function of (seed, epoch), and RNG states are saved with every checkpoint, so a run
killed at any point and resumed with ``resume=True`` ends with the same weights and metrics as one that was
never interrupted (bit for bit on CPU with ``data.workers: 0``; with workers, augmentation randomness after
the resume point differs).
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import yaml
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from .data import BAD_IMAGES_FILE, DataSplits, build_data, collate_skipping_bad
from .eval import eval_loader, evaluate
from .recipes import load_recipe, validate_recipe

CHECKPOINT_VERSION = 1


class RunError(RuntimeError):
    """A run directory cannot be started or resumed as asked; the message says why and what to do."""


# -- processes and devices ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device_name: str | None) -> tuple[Dist, torch.device]:
    """Join the process group ``torchrun`` describes through its environment, if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    use_cuda = torch.cuda.is_available() and device_name in (None, "cuda") or str(device_name).startswith("cuda:")
    if world <= 1:
        return Dist(), torch.device(device_name or ("cuda" if use_cuda else "cpu"))
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    device = torch.device(f"cuda:{local_rank}") if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    return Dist(rank, world, local_rank), device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Every RNG the loop draws from, as tensors and plain numbers, so that a training checkpoint can be read
    back with ``torch.load(weights_only=True)`` like any other weights file."""
    version, mt_state, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": [version, torch.tensor(mt_state, dtype=torch.int64), gauss],
             "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    version, mt_state, gauss = state["python"]
    random.setstate((version, tuple(int(v) for v in mt_state.tolist()), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# -- optimizer, schedule, loss --------------------------------------------------------------------------------------
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


def build_criterion(multi_label: bool, label_smoothing: float = 0.0) -> nn.Module:
    return nn.BCEWithLogitsLoss() if multi_label else nn.CrossEntropyLoss(label_smoothing=label_smoothing)


# -- data loading ---------------------------------------------------------------------------------------------------
class ResumableSampler(DistributedSampler):
    """timm/torch's ``DistributedSampler`` (order fixed by seed and epoch, equal shards) that can start an
    epoch part-way, after the batches a resumed run has already trained on."""

    skip = 0

    def __iter__(self):
        indices = list(super().__iter__())
        return iter(indices[self.skip:])

    def __len__(self) -> int:
        return super().__len__() - self.skip


def train_loader(dataset: Dataset, batch_size: int, seed: int, d: Dist, workers: int = 0,
                 pin_memory: bool = False) -> tuple[DataLoader, ResumableSampler, torch.Generator]:
    sampler = ResumableSampler(dataset, num_replicas=d.world_size, rank=d.rank, shuffle=True, seed=seed)
    generator = torch.Generator()
    drop_last = len(sampler) >= batch_size  # a last batch of one sample would break BatchNorm
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers, drop_last=drop_last,
                        collate_fn=collate_skipping_bad, pin_memory=pin_memory, generator=generator)
    return loader, sampler, generator


# -- checkpoints ----------------------------------------------------------------------------------------------------
def _atomic_save(obj: Any, path: Path) -> None:
    """Write then rename, so a kill during the write never leaves a truncated checkpoint behind."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _atomic_write_text(text: str, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _gather_rng(d: Dist) -> list[dict[str, Any]]:
    state = rng_state()
    if d.world_size == 1:
        return [state]
    gathered: list[Any] = [None] * d.world_size
    dist.all_gather_object(gathered, state)
    return gathered


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


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


# -- the run --------------------------------------------------------------------------------------------------------
@dataclass
class _State:
    epoch: int = 0              # epoch in progress
    batch: int = 0              # batches of that epoch already trained on
    step: int = 0               # optimizer steps so far
    loss_sum: float = 0.0       # of the epoch in progress (kept across a resume so metrics match)
    loss_count: int = 0
    best_metric: float = -math.inf
    best_epoch: int = -1
    wall_time: float = 0.0      # seconds spent in earlier (interrupted) sessions of this run


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


def _primary(metrics: dict[str, Any] | None) -> float:
    if not metrics:
        return -math.inf
    value = metrics.get("auroc", metrics.get("top1"))
    return -math.inf if value is None or math.isnan(value) else float(value)


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
    last_path = run_dir / "last.pt"
    if d.main:
        if not resume and (last_path.exists() or (run_dir / "summary.json").exists()):
            raise RunError(f"{run_dir} already holds a run; resume it (--resume {run_dir}) or choose another "
                           "output directory")
        run_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            (run_dir / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    if d.world_size > 1:
        dist.barrier()

    seed = int(tcfg["seed"])
    seed_everything(seed)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    model, splits = _model_and_data(recipe, run_dir)
    model.to(device)
    if tcfg["channels_last"]:
        model.to(memory_format=torch.channels_last)
    ema = None
    if tcfg["ema_decay"]:
        from timm.utils import ModelEmaV3

        ema = ModelEmaV3(model, decay=tcfg["ema_decay"])
    optimizer = build_optimizer(model, recipe["optimizer"])
    batch_size = dcfg["batch_size"]
    pin = device.type == "cuda"
    loader, sampler, loader_rng = train_loader(splits.train, batch_size, seed, d, dcfg["workers"], pin)
    steps_per_epoch = len(loader)
    if steps_per_epoch == 0:
        raise ValueError(f"data.batch_size: {batch_size} leaves no batch of the {len(splits.train)} training images")
    scheduler = build_scheduler(optimizer, recipe["schedule"], steps_per_epoch)
    use_amp = bool(tcfg["amp"]) and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    criterion = build_criterion(splits.multi_label, tcfg["label_smoothing"])
    eval_bs = dcfg["eval_batch_size"] or 2 * batch_size
    val_loader = eval_loader(splits.val, eval_bs, dcfg["workers"], d.rank, d.world_size, pin) if splits.val else None
    test_loader = (eval_loader(splits.test, eval_bs, dcfg["workers"], d.rank, d.world_size, pin)
                   if splits.test is not None and splits.test is not splits.val else None)

    state = _State()
    if resume:
        ckpt = read_training_checkpoint(last_path)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        if ema is not None:
            if ckpt.get("ema") is None:
                raise RunError(f"cannot resume: {last_path} has no EMA weights but the recipe keeps an EMA")
            ema.module.load_state_dict(ckpt["ema"])
        state = _State(**ckpt["state"])
        rngs = ckpt["rng"]
        if len(rngs) != d.world_size:
            raise RunError(f"cannot resume: {last_path} was written by {len(rngs)} process(es), this run has "
                           f"{d.world_size}; resume with the same number of processes")
        set_rng_state(rngs[d.rank])
        if d.main:
            _truncate_metrics(run_dir / "metrics.jsonl", state.epoch)
            log(f"resuming {run_dir} at epoch {state.epoch}, batch {state.batch}, step {state.step}")
    if d.main and state.step == 0:
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

    writer = _tensorboard(run_dir, ocfg["tensorboard"], log) if d.main else None
    history = _read_metrics(run_dir / "metrics.jsonl") if d.main else []
    every = tcfg["checkpoint_every_steps"]
    epochs = recipe["schedule"]["epochs"]

    def save_last() -> None:
        rngs = _gather_rng(d)
        if d.main:
            payload = {"version": CHECKPOINT_VERSION, "model": model.state_dict(),
                       "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                       "scaler": scaler.state_dict(), "ema": ema.module.state_dict() if ema is not None else None,
                       "rng": rngs, "state": {**state.__dict__, "wall_time": state.wall_time + time.time() - t_start},
                       "recipe": recipe}
            _atomic_save(payload, last_path)
            _atomic_write_text(json.dumps({"epoch": state.epoch, "batch": state.batch, "step": state.step}),
                               run_dir / "last.json")

    for epoch in range(state.epoch, epochs):
        state.epoch = epoch
        sampler.set_epoch(epoch)
        sampler.skip = state.batch * batch_size
        loader_rng.manual_seed(seed * 100003 + epoch)  # worker seeds: a function of the epoch, not of history
        train_model.train()
        t_epoch, seen = time.time(), 0
        bar = _progress(d.main and ocfg["progress"], steps_per_epoch, state.batch, f"epoch {epoch + 1}/{epochs}")
        for batch in loader:
            if batch is not None:
                images, targets = batch[0].to(device, non_blocking=pin), batch[1].to(device, non_blocking=pin)
                if tcfg["channels_last"]:
                    images = images.contiguous(memory_format=torch.channels_last)
                with torch.autocast(device.type, enabled=use_amp):
                    logits = train_model(images)
                loss = criterion(logits.float(), targets.float() if splits.multi_label else targets)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"loss became {loss.item()} at epoch {epoch}, step {state.step}; "
                                             "lower optimizer.lr or set training.grad_clip")
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if tcfg["grad_clip"]:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(model.parameters(), tcfg["grad_clip"])
                scaler.step(optimizer)
                scaler.update()
                state.loss_sum += float(loss.detach()) * len(targets)
                state.loss_count += len(targets)
                seen += len(targets)
            state.step += 1
            state.batch += 1
            scheduler.step_update(num_updates=state.step)
            if ema is not None:
                ema.update(model, step=state.step)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{state.loss_sum / max(state.loss_count, 1):.4f}",
                                lr=f"{optimizer.param_groups[0]['lr']:.2e}",
                                img_s=f"{seen * d.world_size / max(time.time() - t_epoch, 1e-9):.0f}")
            if every and state.step % every == 0 and state.batch < steps_per_epoch:
                save_last()
        if bar is not None:
            bar.close()

        train_loss = _mean_across(state.loss_sum, state.loss_count, d)
        val = evaluate(eval_model, val_loader, device, splits.multi_label, use_amp, tcfg["channels_last"],
                       splits.class_names) if val_loader else None
        test = evaluate(eval_model, test_loader, device, splits.multi_label, use_amp, tcfg["channels_last"],
                        splits.class_names) if test_loader else None
        if splits.test is not None and splits.test is splits.val:
            test = val  # ImageNet layout: the val split is the reported one
        selected = val if val is not None else test
        improved = _primary(selected) > state.best_metric
        if improved:
            state.best_metric, state.best_epoch = _primary(selected), epoch
        record = {"epoch": epoch + 1, "step": state.step, "lr": optimizer.param_groups[0]["lr"],
                  "train_loss": train_loss, "val": val, "test": test,
                  "epoch_time_s": time.time() - t_epoch}
        state.epoch, state.batch, state.loss_sum, state.loss_count = epoch + 1, 0, 0.0, 0
        if d.main:
            if improved:
                _save_weights(eval_model, run_dir, "best", {"epoch": epoch + 1, "val": val, "test": test})
            _save_weights(eval_model, run_dir, "last", {"epoch": epoch + 1, "val": val, "test": test})
        save_last()
        if d.main:
            history.append(record)
            with open(run_dir / "metrics.jsonl", "a") as fh:
                fh.write(json.dumps(record) + "\n")
            _log_epoch(log, record, splits.multi_label)
            if writer is not None:
                _write_tensorboard(writer, record)

    summary = None
    if d.main:
        summary = _summary(recipe, model, splits, history, state, d, device, run_dir,
                           state.wall_time + time.time() - t_start)
        _atomic_write_text(json.dumps(summary, indent=2), run_dir / "summary.json")
        if writer is not None:
            writer.close()
    if d.world_size > 1:
        dist.barrier()
        shared: list[Any] = [summary]
        dist.broadcast_object_list(shared, src=0)
        summary = shared[0]
    return summary


def _mean_across(total: float, count: int, d: Dist) -> float:
    if d.world_size > 1:
        t = torch.tensor([total, count], dtype=torch.float64)
        dist.all_reduce(t)
        total, count = t.tolist()
    return total / count if count else math.nan


def _save_weights(model: nn.Module, run_dir: Path, name: str, meta: dict[str, Any]) -> None:
    from ..models import save_weights

    weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    _atomic_save({"state_dict": weights, "meta": meta}, run_dir / f"{name}.pt")
    tmp = run_dir / f"{name}.tmp.safetensors"
    save_weights(model, tmp)
    os.replace(tmp, run_dir / f"{name}.safetensors")


def _read_metrics(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _truncate_metrics(path: Path, epochs_done: int) -> None:
    """Drop lines of epochs after the checkpoint (written just before a kill), so none is repeated."""
    kept = [r for r in _read_metrics(path) if r["epoch"] <= epochs_done]
    if path.is_file():
        _atomic_write_text("".join(json.dumps(r) + "\n" for r in kept), path)


def _progress(enabled: bool, total: int, initial: int, desc: str):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, leave=False, dynamic_ncols=True)


def _log_epoch(log: Callable[[str], None], record: dict[str, Any], multi_label: bool) -> None:
    key = "auroc" if multi_label else "top1"
    parts = [f"epoch {record['epoch']}", f"train loss {record['train_loss']:.4f}"]
    for split in ("val", "test"):
        if record[split]:
            parts.append(f"{split} {key} {record[split][key]:.2f}")
    parts.append(f"{record['epoch_time_s']:.1f}s")
    log(", ".join(parts))


def _tensorboard(run_dir: Path, enabled: bool, log: Callable[[str], None]):
    if not enabled:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log("tensorboard is not installed (pip install 'muxnet[tensorboard]'); logging to metrics.jsonl only")
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))


def _write_tensorboard(writer, record: dict[str, Any]) -> None:
    epoch = record["epoch"]
    writer.add_scalar("train/loss", record["train_loss"], epoch)
    writer.add_scalar("train/lr", record["lr"], epoch)
    for split in ("val", "test"):
        for key, value in (record[split] or {}).items():
            if isinstance(value, (int, float)):
                writer.add_scalar(f"{split}/{key}", value, epoch)


def _summary(recipe, model, splits, history, state, d, device, run_dir, wall_time) -> dict[str, Any]:
    from ..profile import profile, profile_spec

    size = recipe["data"]["image_size"]
    input_size = (3, size, size)
    counts = profile_spec(model.spec, input_size) if hasattr(model, "spec") else profile(model, input_size)
    best = next((r for r in history if r["epoch"] == state.best_epoch + 1), None)
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
        "steps": state.step,
        "selected_on": "val" if splits.val is not None else "test",
        "best": {"epoch": best["epoch"], "val": best["val"], "test": best["test"]} if best else None,
        "last": {"epoch": last["epoch"], "val": last["val"], "test": last["test"]} if last else None,
        "wall_time_s": wall_time,
        "world_size": d.world_size,
        "device": str(device),
        "bad_images": len(bad_file.read_text().splitlines()) if bad_file.is_file() else 0,
        "run_dir": str(run_dir),
    }


# -- the search's proxy ---------------------------------------------------------------------------------------------
def train_and_evaluate(model: nn.Module, train_set: Dataset, heldout_set: Dataset, epochs: int = 5,
                       recipe: str | dict[str, Any] = "digits", overrides: tuple[str, ...] = (),
                       seed: int = 0, device: str | torch.device | None = None, multi_label: bool = False) -> float:
    """Train ``model`` for ``epochs`` on ``train_set`` and return its held-out error in [0, 1].

    The search's proxy evaluation: same optimizer, schedule and loss as ``recipe`` (by default the fast
    ``digits`` recipe, with ``schedule.epochs`` set to ``epochs``), no files written, one process. For
    multi-label data the error is ``1 - mean AUROC``. A diverging run raises ``FloatingPointError`` so that
    a caller (the search) records the candidate as failed instead of ranking it.
    """
    if isinstance(recipe, str):
        recipe = load_recipe(recipe, [("schedule.epochs", epochs), ("training.seed", seed), *overrides])
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    seed_everything(seed)
    model.to(device)
    optimizer = build_optimizer(model, recipe["optimizer"])
    loader, sampler, loader_rng = train_loader(train_set, recipe["data"]["batch_size"], seed, Dist())
    scheduler = build_scheduler(optimizer, recipe["schedule"], len(loader))
    criterion = build_criterion(multi_label, recipe["training"]["label_smoothing"])
    clip, step = recipe["training"]["grad_clip"], 0
    for epoch in range(recipe["schedule"]["epochs"]):
        sampler.set_epoch(epoch)
        loader_rng.manual_seed(seed * 100003 + epoch)
        model.train()
        for batch in loader:
            if batch is None:
                continue
            images, targets = batch[0].to(device), batch[1].to(device)
            loss = criterion(model(images), targets.float() if multi_label else targets)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training diverged at step {step}: the loss became {loss.item()}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            step += 1
            scheduler.step_update(num_updates=step)
    metrics = evaluate(model, eval_loader(heldout_set, 2 * recipe["data"]["batch_size"]), device, multi_label)
    return 1.0 - (metrics["auroc"] if multi_label else metrics["top1"]) / 100.0


__all__ = ["RunError", "build_criterion", "build_optimizer", "build_scheduler", "default_run_dir", "lr_at_steps",
           "read_training_checkpoint", "setup_distributed", "train", "train_and_evaluate"]
