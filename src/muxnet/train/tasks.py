"""The training loop of the dense tasks (detection, segmentation): one loop, the task supplies the rest.

A :class:`Task` knows its recipe schema, how to build its model and data, its loss on a batch and its
evaluation; the loop owns everything else and writes the same run directory as ``muxnet train`` (``recipe.yaml``,
``metrics.jsonl``, ``last.pt`` to resume from, ``best``/``last`` weights as ``.pt`` and ``.safetensors``,
``summary.json``) with the classification loop's optimizer, schedule, checkpoint and RNG helpers. Runs are
single-process; the test split is evaluated after every epoch and picks the best checkpoint, as ``muxnet train``
does on layouts without a validation split.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .loop import (
    CHECKPOINT_VERSION,
    ResumableSampler,
    RunError,
    _atomic_save,
    _atomic_write_text,
    _progress,
    _read_metrics,
    _save_weights,
    _truncate_metrics,
    build_optimizer,
    build_scheduler,
    read_training_checkpoint,
    rng_state,
    seed_everything,
    set_rng_state,
)
from .recipes import DEFAULTS, RecipeError, _merge, _read_recipe_file, apply_overrides

# the sections every dense recipe shares; optimizer and schedule are the classification schema's own
TASK_DEFAULTS: dict[str, Any] = {
    "recipe": "custom",
    "task": None,
    "model": {"name": None, "backbone_weights": None},
    "data": {
        "dataset": "scenes",       # scenes (embedded) or the task's standard layout
        "root": None,              # None: the embedded scenes (written once under ~/.cache/muxnet)
        "image_size": 300,
        "batch_size": 32,
        "eval_batch_size": None,   # None: batch_size
        "workers": 0,
        "augment": [],             # the task's augmentation steps, in order
        "skip_bad_images": False,
        "scenes": {"train": 1000, "test": 300, "size": 128, "seed": 0},
    },
    "optimizer": copy.deepcopy(DEFAULTS["optimizer"]),
    "schedule": copy.deepcopy(DEFAULTS["schedule"]),
    "training": {"seed": 0, "device": None, "threads": None, "grad_clip": None, "checkpoint_every_steps": 0},
    "output": {"dir": None, "progress": True},
}


class Task(Protocol):
    kind: str                      # "detect" or "segment": the recipe's ``task`` and the command's name
    primary: str                   # the metric that picks the best checkpoint (higher is better)
    datasets: tuple[str, ...]      # values of data.dataset
    defaults: dict[str, Any]       # TASK_DEFAULTS plus the task's own keys
    default_recipes: tuple[str, str]  # shipped recipes: the embedded scenes, the standard layout

    def build_model(self, recipe: dict[str, Any], num_classes: int) -> nn.Module: ...
    def build_data(self, recipe: dict[str, Any], split: str, run_dir: Path | None) -> Dataset: ...
    def collate(self, batch: list) -> Any: ...
    def loss(self, model: nn.Module, batch: Any, device: torch.device) -> tuple[torch.Tensor, int]: ...
    def evaluate(self, model: nn.Module, dataset: Dataset, recipe: dict[str, Any],
                 device: torch.device) -> dict[str, Any]: ...


def load_task_recipe(task: Task, name_or_path: str | Path, overrides: Iterable[str | tuple[str, Any]] = ()
                     ) -> dict[str, Any]:
    data, where = _read_recipe_file(name_or_path)
    recipe = copy.deepcopy(task.defaults)
    _merge(recipe, data, where)
    recipe = apply_overrides(recipe, overrides)
    validate_task_recipe(task, recipe)
    return recipe


def validate_task_recipe(task: Task, recipe: dict[str, Any]) -> None:
    def fail(key: str, why: str, value: Any) -> None:
        raise RecipeError(f"{key}: {why} (got {value!r})")

    if recipe["task"] != task.kind:
        fail("task", f"this recipe is not a '{task.kind}' recipe", recipe["task"])
    data, sched = recipe["data"], recipe["schedule"]
    if data["dataset"] not in task.datasets:
        fail("data.dataset", f"must be one of {task.datasets}", data["dataset"])
    for key, section, minimum in (("data.image_size", data, 32), ("data.batch_size", data, 1),
                                  ("schedule.epochs", sched, 1)):
        value = section[key.split(".")[1]]
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            fail(key, f"must be an integer >= {minimum}", value)
    if not isinstance(data["augment"], list):
        fail("data.augment", "must be a list of augmentation steps", data["augment"])
    if not isinstance(recipe["optimizer"]["lr"], (int, float)) or recipe["optimizer"]["lr"] <= 0:
        fail("optimizer.lr", "must be a positive number", recipe["optimizer"]["lr"])
    if not recipe["model"]["name"]:
        fail("model.name", "must name a model", recipe["model"]["name"])


def task_recipe(task: Task, recipe: str | Path | None, data: str | Path | None, dataset: str | None,
                resume: str | Path | None, overrides: Iterable[str | tuple[str, Any]] = ()) -> dict[str, Any]:
    """The recipe a ``muxnet detect|segment train`` command line describes (like ``build_recipe``): a resumed
    run's saved recipe, or ``recipe``, by default the task's embedded-scenes recipe, or its standard-layout
    recipe when ``data`` is given."""
    pairs: list[str | tuple[str, Any]] = []
    if resume is not None:
        saved = Path(resume) / "recipe.yaml"
        if not saved.is_file():
            raise RecipeError(f"cannot resume {resume}: it has no recipe.yaml (is it a muxnet run directory?)")
        base: str | Path = saved
        pairs.append(("output.dir", str(resume)))
    else:
        base = recipe or (task.default_recipes[1] if data is not None else task.default_recipes[0])
    if data is not None:
        pairs.append(("data.root", str(data)))
        pairs.append(("data.dataset", dataset or task.datasets[1]))
    elif dataset is not None:
        pairs.append(("data.dataset", dataset))
    return load_task_recipe(task, base, [*pairs, *overrides])


@dataclass
class _State:
    epoch: int = 0
    batch: int = 0
    step: int = 0
    loss_sum: float = 0.0
    loss_count: int = 0
    best_metric: float = -math.inf
    best_epoch: int = -1
    wall_time: float = 0.0


def device_for(name: str | None) -> torch.device:
    return torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))


def train_task(task: Task, recipe: dict[str, Any], resume: bool = False,
               log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train as ``recipe`` says; returns the summary (also written to ``summary.json``)."""
    validate_task_recipe(task, recipe)
    t_start = time.time()
    tcfg, dcfg, ocfg = recipe["training"], recipe["data"], recipe["output"]
    if tcfg["threads"]:
        torch.set_num_threads(int(tcfg["threads"]))
    device = device_for(tcfg["device"])
    run_dir = Path(ocfg["dir"] or Path("runs") / f"{recipe['recipe']}-{Path(str(recipe['model']['name'])).stem}")
    last_path = run_dir / "last.pt"
    if not resume and (last_path.exists() or (run_dir / "summary.json").exists()):
        raise RunError(f"{run_dir} already holds a run; resume it (--resume {run_dir}) or choose another "
                       "output directory")
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume:
        (run_dir / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))

    seed = int(tcfg["seed"])
    seed_everything(seed)
    train_set = task.build_data(recipe, "train", run_dir)
    test_set = task.build_data(recipe, "test", run_dir)
    model = task.build_model(recipe, train_set.num_classes).to(device)
    optimizer = build_optimizer(model, recipe["optimizer"])
    batch_size = dcfg["batch_size"]
    sampler = ResumableSampler(train_set, num_replicas=1, rank=0, shuffle=True, seed=seed)
    generator = torch.Generator()
    loader = DataLoader(train_set, batch_size=batch_size, sampler=sampler, num_workers=dcfg["workers"],
                        drop_last=len(train_set) >= batch_size, collate_fn=task.collate, generator=generator)
    steps_per_epoch = len(loader)
    scheduler = build_scheduler(optimizer, recipe["schedule"], steps_per_epoch)

    state = _State()
    if resume:
        ckpt = read_training_checkpoint(last_path)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        state = _State(**ckpt["state"])
        set_rng_state(ckpt["rng"][0])
        _truncate_metrics(run_dir / "metrics.jsonl", state.epoch)
        log(f"resuming {run_dir} at epoch {state.epoch}, batch {state.batch}, step {state.step}")
    else:
        n_params = sum(p.numel() for p in model.parameters())
        log(f"training {recipe['model']['name']} ({n_params / 1e6:.3f}M params) on {dcfg['dataset']}: "
            f"{len(train_set)} train / {len(test_set)} test images, {steps_per_epoch} steps/epoch x "
            f"{recipe['schedule']['epochs']} epochs on {device}")
    history = _read_metrics(run_dir / "metrics.jsonl")
    every = tcfg["checkpoint_every_steps"]
    epochs = recipe["schedule"]["epochs"]

    def save_last() -> None:
        payload = {"version": CHECKPOINT_VERSION, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                   "scheduler": scheduler.state_dict(), "rng": [rng_state()],
                   "state": {**state.__dict__, "wall_time": state.wall_time + time.time() - t_start},
                   "recipe": recipe}
        _atomic_save(payload, last_path)
        _atomic_write_text(json.dumps({"epoch": state.epoch, "batch": state.batch, "step": state.step}),
                           run_dir / "last.json")

    for epoch in range(state.epoch, epochs):
        state.epoch = epoch
        sampler.set_epoch(epoch)
        sampler.skip = state.batch * batch_size
        generator.manual_seed(seed * 100003 + epoch)
        model.train()
        t_epoch = time.time()
        bar = _progress(ocfg["progress"], steps_per_epoch, state.batch, f"epoch {epoch + 1}/{epochs}")
        for batch in loader:
            loss, count = task.loss(model, batch, device)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} at epoch {epoch}, step {state.step}; "
                                         "lower optimizer.lr or set training.grad_clip")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if tcfg["grad_clip"]:
                nn.utils.clip_grad_norm_(model.parameters(), tcfg["grad_clip"])
            optimizer.step()
            state.loss_sum += float(loss.detach()) * count
            state.loss_count += count
            state.step += 1
            state.batch += 1
            scheduler.step_update(num_updates=state.step)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{state.loss_sum / max(state.loss_count, 1):.4f}",
                                lr=f"{optimizer.param_groups[0]['lr']:.2e}")
            if every and state.step % every == 0 and state.batch < steps_per_epoch:
                save_last()
        if bar is not None:
            bar.close()
        test = task.evaluate(model, test_set, recipe, device)
        improved = test[task.primary] > state.best_metric
        if improved:
            state.best_metric, state.best_epoch = test[task.primary], epoch
        record = {"epoch": epoch + 1, "step": state.step, "lr": optimizer.param_groups[0]["lr"],
                  "train_loss": state.loss_sum / max(state.loss_count, 1), "test": test,
                  "epoch_time_s": time.time() - t_epoch}
        state.epoch, state.batch, state.loss_sum, state.loss_count = epoch + 1, 0, 0.0, 0
        meta = {"epoch": epoch + 1, "test": test}
        if improved:
            _save_weights(model, run_dir, "best", meta)
        _save_weights(model, run_dir, "last", meta)
        save_last()
        history.append(record)
        with open(run_dir / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(record) + "\n")
        log(f"epoch {epoch + 1}, train loss {record['train_loss']:.4f}, test {task.primary} "
            f"{test[task.primary]:.2f}, {record['epoch_time_s']:.1f}s")

    best = next((r for r in history if r["epoch"] == state.best_epoch + 1), None)
    summary = {"task": task.kind, "model": recipe["model"]["name"], "recipe": recipe["recipe"],
               "dataset": dcfg["dataset"], "num_classes": train_set.num_classes,
               "class_names": list(train_set.class_names), "params": sum(p.numel() for p in model.parameters()),
               "image_size": dcfg["image_size"], "epochs": epochs, "steps": state.step, "selected_on": "test",
               "primary": task.primary,
               "best": {"epoch": best["epoch"], "test": best["test"]} if best else None,
               "last": {"epoch": history[-1]["epoch"], "test": history[-1]["test"]} if history else None,
               "wall_time_s": state.wall_time + time.time() - t_start, "device": str(device),
               "bad_images": len(getattr(train_set, "skipped", [])) + len(getattr(test_set, "skipped", [])),
               "run_dir": str(run_dir)}
    _atomic_write_text(json.dumps(summary, indent=2), run_dir / "summary.json")
    return summary


def load_run(task: Task, target: str | Path, checkpoint: str | Path | None = None,
             overrides: Iterable[str | tuple[str, Any]] = ()) -> tuple[dict[str, Any], nn.Module, int]:
    """The recipe and model of a run directory with its best weights (or ``checkpoint``), ready to evaluate."""
    from ..models import load_checkpoint

    run_dir = Path(target)
    if not (run_dir / "recipe.yaml").is_file():
        raise RunError(f"{run_dir} is not a run directory (no recipe.yaml); train one with muxnet {task.kind} train")
    recipe = load_task_recipe(task, run_dir / "recipe.yaml", overrides)
    summary_path = run_dir / "summary.json"
    weights = Path(checkpoint) if checkpoint else run_dir / "best.safetensors"
    if not weights.is_file():
        raise RunError(f"no weights at {weights}")
    num_classes = (json.loads(summary_path.read_text())["num_classes"] if summary_path.is_file()
                   else task.build_data(recipe, "test", None).num_classes)
    model = task.build_model(recipe, num_classes)
    load_checkpoint(model, weights, reset_classifier=False)
    return recipe, model, num_classes


def evaluate_run(task: Task, target: str | Path, checkpoint: str | Path | None = None,
                 data: str | Path | None = None, dataset: str | None = None,
                 overrides: Iterable[str | tuple[str, Any]] = ()) -> dict[str, Any]:
    """A trained run's test metrics, on its own data or on ``data`` (a directory of the task's layout)."""
    pairs: list[str | tuple[str, Any]] = []
    if data is not None:
        pairs += [("data.root", str(data)), ("data.dataset", dataset or task.datasets[1])]
    recipe, model, _ = load_run(task, target, checkpoint, [*pairs, *overrides])
    device = device_for(recipe["training"]["device"])
    test_set = task.build_data(recipe, "test", None)
    metrics = task.evaluate(model.to(device), test_set, recipe, device)
    return {"model": recipe["model"]["name"], "dataset": recipe["data"]["dataset"], **metrics}


def prediction_inputs(task: Task, recipe: dict[str, Any], images: Iterable[str | Path], count: int = 8
                      ) -> list[Path]:
    """The images to predict on: those given, or the first ``count`` of the run's test split."""
    paths = [Path(p) for p in images]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"no image at {p}")
    if not paths:
        test_set = task.build_data(recipe, "test", None)
        paths = [s.image if hasattr(s, "image") else s[0] for s in test_set.samples[:count]]
    return paths


def fresh_output(path: Path) -> Path:
    """``path`` if nothing is there yet; predictions never overwrite a file."""
    if path.exists():
        raise FileExistsError(f"{path} already exists; choose another --output directory")
    return path


__all__ = ["TASK_DEFAULTS", "Task", "evaluate_run", "fresh_output", "load_run", "load_task_recipe",
           "prediction_inputs", "task_recipe", "train_task", "validate_task_recipe"]
