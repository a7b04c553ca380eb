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
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from torch.utils.data import Dataset

from ..data.loaders import TrainLoader
from . import checkpoint as ckpt
from .distributed import Dist
from .epoch import TrainStep, train_one_epoch
from .optim import build_optimizer, build_scheduler
from .recipes import DEFAULTS, RecipeError, _merge, _read_recipe_file, apply_overrides, saved_recipe
from .report import METRICS, append_metrics, progress_bar, read_metrics, truncate_metrics
from .rng import rng_state, seed_everything
from .run import _prepare_run_dir, _restore, default_run_dir

DIGITS_BACKBONE = "digits"

# the sections every dense recipe shares; optimizer and schedule are the classification schema's own
TASK_DEFAULTS: dict[str, Any] = {
    "recipe": "custom",
    "task": None,
    # backbone_weights: a checkpoint of the backbone (ImageNet weights, as the paper), or "digits": the backbone
    # first trained as a digit classifier (muxnet train's embedded default with backbone_pretrain's settings)
    # inside the run directory, which is to the embedded scenes what ImageNet weights are to VOC and ADE20K
    "model": {"name": None, "backbone_weights": None, "backbone_pretrain": {"epochs": 30, "image_size": 32}},
    "data": {
        "dataset": "scenes",       # scenes (embedded) or the task's standard layout
        "root": None,              # None: the embedded scenes (written once under ~/.cache/muxnet)
        "image_size": 300,
        "batch_size": 32,
        "eval_batch_size": None,   # None: batch_size
        "workers": 0,
        "augment": [],             # the task's augmentation steps, in order
        "skip_bad_images": False,
        # the embedded scenes (muxnet.data.scenes): canvases, side, digits per canvas, digit sides in pixels
        "scenes": {"train": 1000, "test": 300, "size": 128, "seed": 0, "max_digits": 3, "digit_sizes": None},
    },
    "optimizer": copy.deepcopy(DEFAULTS["optimizer"]),
    "schedule": copy.deepcopy(DEFAULTS["schedule"]),
    "training": {"seed": 0, "device": None, "threads": None, "grad_clip": None, "checkpoint_every_steps": 0},
    "output": {"dir": None, "progress": True},
}


def task_defaults(kind: str, **model: Any) -> dict[str, Any]:
    """The recipe schema of a task: :data:`TASK_DEFAULTS` with its ``task`` and its own ``model`` keys."""
    defaults = copy.deepcopy(TASK_DEFAULTS)
    defaults["task"] = kind
    defaults["model"].update(model)
    return defaults


class Task(Protocol):
    kind: str                      # "detect" or "segment": the recipe's ``task`` and the command's name
    primary: str                   # the metric that picks the best checkpoint (higher is better)
    datasets: tuple[str, ...]      # values of data.dataset
    defaults: dict[str, Any]       # TASK_DEFAULTS plus the task's own keys
    default_recipes: tuple[str, str]  # shipped recipes: the embedded scenes, the standard layout

    def backbone_name(self, recipe: dict[str, Any]) -> str: ...
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
    weights = recipe["model"]["backbone_weights"]
    if weights is not None and not isinstance(weights, str):
        fail("model.backbone_weights", f"must be a checkpoint path, '{DIGITS_BACKBONE}' or null", weights)
    pretrain = recipe["model"]["backbone_pretrain"]
    for key in ("epochs", "image_size"):
        value = pretrain.get(key) if isinstance(pretrain, dict) else None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            fail(f"model.backbone_pretrain.{key}", "must be a positive integer", value)


def task_recipe(task: Task, recipe: str | Path | None, data: str | Path | None, dataset: str | None,
                resume: str | Path | None, overrides: Iterable[str | tuple[str, Any]] = ()) -> dict[str, Any]:
    """The recipe a ``muxnet detect|segment train`` command line describes (like ``build_recipe``): a resumed
    run's saved recipe, or ``recipe``, by default the task's embedded-scenes recipe, or its standard-layout
    recipe when ``data`` is given."""
    if resume is not None:
        return load_task_recipe(task, saved_recipe(resume), [("output.dir", str(resume)), *overrides])
    base = recipe or (task.default_recipes[1] if data is not None else task.default_recipes[0])
    return load_task_recipe(task, base, [*data_overrides(task, data, dataset), *overrides])


def data_overrides(task: Task, data: str | Path | None, dataset: str | None) -> list[tuple[str, Any]]:
    """``--data DIR`` means the task's standard layout (``voc``, ``ade20k``) unless ``dataset`` says otherwise."""
    if data is not None:
        return [("data.root", str(data)), ("data.dataset", dataset or task.datasets[1])]
    return [("data.dataset", dataset)] if dataset is not None else []


def scenes_or_root(recipe: dict[str, Any], write_scenes: Callable[..., Path], layout: str) -> Path:
    """The data folder: the embedded scenes (written once by ``write_scenes``) or the recipe's ``data.root``."""
    data = recipe["data"]
    if data["dataset"] == "scenes":
        s = data["scenes"]
        return write_scenes(data["root"], s["train"], s["test"], s["size"], s["seed"], s["max_digits"],
                            s["digit_sizes"])
    if not data["root"]:
        raise ValueError(f"data.root: the {data['dataset']} layout needs {layout} (--data DIR)")
    return Path(data["root"])


def backbone_weights(task: Task, recipe: dict[str, Any], run_dir: Path, log: Callable[[str], None]
                     ) -> str | None:
    """The checkpoint the backbone starts from: the recipe's ``model.backbone_weights``, where ``"digits"`` is a
    digit classifier with the task's backbone trained (once, resumably) in ``run_dir/backbone``."""
    from .targets import digits_run

    weights = recipe["model"]["backbone_weights"]
    if weights is None:
        return None
    if weights != DIGITS_BACKBONE:
        if not Path(weights).is_file():
            raise FileNotFoundError(f"model.backbone_weights: no checkpoint at {weights} (a file, or "
                                    f"'{DIGITS_BACKBONE}' to pre-train the backbone on the embedded digits)")
        return weights
    pretrain = recipe["model"]["backbone_pretrain"]
    overrides = [("model.name", task.backbone_name(recipe)), ("data.image_size", pretrain["image_size"]),
                 ("schedule.epochs", pretrain["epochs"]), ("data.digits_pool", "scenes_train"),
                 ("training.threads", recipe["training"]["threads"]),
                 ("training.seed", recipe["training"]["seed"])]
    return str(digits_run(run_dir / "backbone", overrides, log) / "best.safetensors")


def device_for(name: str | None) -> torch.device:
    return torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))


def train_task(task: Task, recipe: dict[str, Any], resume: bool = False,
               log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train as ``recipe`` says; returns the summary (also written to ``summary.json``). The step is the
    classification loop's ``train_one_epoch`` with the task's loss."""
    validate_task_recipe(task, recipe)
    t_start = time.time()
    tcfg, dcfg, ocfg = recipe["training"], recipe["data"], recipe["output"]
    if tcfg["threads"]:
        torch.set_num_threads(int(tcfg["threads"]))
    device = device_for(tcfg["device"])
    run_dir = Path(ocfg["dir"] or default_run_dir(recipe))
    _prepare_run_dir(run_dir, recipe, resume, Dist())

    seed = int(tcfg["seed"])
    seed_everything(seed)
    train_set = task.build_data(recipe, "train", run_dir)
    test_set = task.build_data(recipe, "test", run_dir)
    # a resumed run restores every weight from last.pt: the backbone's starting point no longer matters
    start = None if resume else backbone_weights(task, recipe, run_dir, log)
    model = task.build_model(apply_overrides(recipe, [("model.backbone_weights", start)]),
                             train_set.num_classes).to(device)
    optimizer = build_optimizer(model, recipe["optimizer"])
    loader = TrainLoader(train_set, dcfg["batch_size"], seed, workers=dcfg["workers"], collate_fn=task.collate)
    steps_per_epoch = loader.batches_per_epoch
    scheduler = build_scheduler(optimizer, recipe["schedule"], steps_per_epoch)
    step = TrainStep(optimizer, scheduler, None, device, grad_clip=tcfg["grad_clip"], batch_loss=task.loss)
    parts = {"model": model, "optimizer": optimizer, "scheduler": scheduler}

    progress = ckpt.Progress()
    if resume:
        last = run_dir / ckpt.LAST
        progress = _restore(ckpt.read_training_checkpoint(last), parts, Dist(), last)
        truncate_metrics(run_dir / METRICS, progress.epoch)
        log(f"resuming {run_dir} at epoch {progress.epoch}, batch {progress.batch}, step {progress.step}")
    else:
        n_params = sum(p.numel() for p in model.parameters())
        log(f"training {recipe['model']['name']} ({n_params / 1e6:.3f}M params) on {dcfg['dataset']}: "
            f"{len(train_set)} train / {len(test_set)} test images, {steps_per_epoch} steps/epoch x "
            f"{recipe['schedule']['epochs']} epochs on {device}")
    history = read_metrics(run_dir / METRICS)
    every = tcfg["checkpoint_every_steps"]
    epochs = recipe["schedule"]["epochs"]

    def save_last() -> None:
        wall = progress.wall_time + time.time() - t_start
        snapshot = ckpt.Progress(**{**asdict(progress), "wall_time": wall})
        ckpt.save_training_checkpoint(run_dir, parts, [rng_state()], snapshot, recipe)

    for epoch in range(progress.epoch, epochs):
        progress.epoch = epoch
        t_epoch = time.time()
        bar = progress_bar(ocfg["progress"], steps_per_epoch, progress.batch, f"epoch {epoch + 1}/{epochs}")

        def after_step(bar=bar) -> None:
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{progress.loss_sum / max(progress.loss_count, 1):.4f}",
                                lr=f"{optimizer.param_groups[0]['lr']:.2e}")
            if every and progress.step % every == 0 and progress.batch < steps_per_epoch:
                save_last()

        train_one_epoch(model, loader.epoch(epoch, progress.batch), step, progress, after_step=after_step)
        if bar is not None:
            bar.close()
        test = task.evaluate(model, test_set, recipe, device)
        improved = test[task.primary] > progress.best_metric
        if improved:
            progress.best_metric, progress.best_epoch = test[task.primary], epoch
        record = {"epoch": epoch + 1, "step": progress.step, "lr": optimizer.param_groups[0]["lr"],
                  "train_loss": progress.loss_sum / max(progress.loss_count, 1), "test": test,
                  "epoch_time_s": time.time() - t_epoch}
        progress.epoch, progress.batch, progress.loss_sum, progress.loss_count = epoch + 1, 0, 0.0, 0
        meta = {"epoch": epoch + 1, "test": test}
        if improved:
            ckpt.save_evaluated_weights(model, run_dir, "best", meta)
        ckpt.save_evaluated_weights(model, run_dir, "last", meta)
        save_last()
        history.append(record)
        append_metrics(run_dir / METRICS, record)
        log(f"epoch {epoch + 1}, train loss {record['train_loss']:.4f}, test {task.primary} "
            f"{test[task.primary]:.2f}, {record['epoch_time_s']:.1f}s")

    best = next((r for r in history if r["epoch"] == progress.best_epoch + 1), None)
    summary = {"task": task.kind, "model": recipe["model"]["name"], "recipe": recipe["recipe"],
               "dataset": dcfg["dataset"], "num_classes": train_set.num_classes,
               "class_names": list(train_set.class_names), "params": sum(p.numel() for p in model.parameters()),
               "image_size": dcfg["image_size"], "epochs": epochs, "steps": progress.step, "selected_on": "test",
               "primary": task.primary,
               "best": {"epoch": best["epoch"], "test": best["test"]} if best else None,
               "last": {"epoch": history[-1]["epoch"], "test": history[-1]["test"]} if history else None,
               "wall_time_s": progress.wall_time + time.time() - t_start, "device": str(device),
               "bad_images": len(train_set.skipped) + len(test_set.skipped), "run_dir": str(run_dir)}
    ckpt.atomic_write(run_dir / "summary.json", json.dumps(summary, indent=2))
    return summary


def load_run(task: Task, target: str | Path, checkpoint: str | Path | None = None,
             overrides: Iterable[str | tuple[str, Any]] = ()) -> tuple[dict[str, Any], nn.Module, int]:
    """The recipe and model of a run directory with its best weights (or ``checkpoint``), ready to evaluate."""
    from ..models import load_checkpoint

    run_dir = Path(target)
    if not (run_dir / "recipe.yaml").is_file():
        raise ckpt.RunError(f"{run_dir} is not a run directory (no recipe.yaml); train one with "
                            f"muxnet {task.kind} train")
    # the run's weights replace the backbone's starting point: do not load (or pre-train) that
    recipe = load_task_recipe(task, run_dir / "recipe.yaml", [("model.backbone_weights", None), *overrides])
    summary_path = run_dir / "summary.json"
    weights = Path(checkpoint) if checkpoint else run_dir / "best.safetensors"
    if not weights.is_file():
        raise ckpt.RunError(f"no weights at {weights}")
    num_classes = (json.loads(summary_path.read_text())["num_classes"] if summary_path.is_file()
                   else task.build_data(recipe, "test", None).num_classes)
    model = task.build_model(recipe, num_classes)
    load_checkpoint(model, weights, reset_classifier=False)
    return recipe, model, num_classes


def evaluate_run(task: Task, target: str | Path, checkpoint: str | Path | None = None,
                 data: str | Path | None = None, dataset: str | None = None,
                 overrides: Iterable[str | tuple[str, Any]] = ()) -> dict[str, Any]:
    """A trained run's test metrics, on its own data or on ``data`` (a directory of the task's layout)."""
    recipe, model, _ = load_run(task, target, checkpoint, [*data_overrides(task, data, dataset), *overrides])
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


@torch.no_grad()
def predict_images(task: Task, run_dir: str | Path, images: Iterable[str | Path], output: str | Path,
                   checkpoint: str | Path | None, suffix: str,
                   draw: Callable[[nn.Module, dict[str, Any], torch.Tensor, list[str]], torch.Tensor]) -> list[Path]:
    """Run a trained model on ``images`` (default: the first test images of its run) and write
    ``draw(model, recipe, image, class_names)`` (3 x H x W uint8) as ``<output>/<name><suffix>.png``."""
    from PIL import Image

    from ..data.annotated import read_rgb

    summary = Path(run_dir) / "summary.json"
    if not summary.is_file():
        raise FileNotFoundError(f"{summary} is missing: the run has not finished")
    class_names = json.loads(summary.read_text())["class_names"]
    recipe, model, _ = load_run(task, run_dir, checkpoint)
    model.eval()
    out_dir = Path(output)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in prediction_inputs(task, recipe, images):
        target = fresh_output(out_dir / f"{path.stem}{suffix}.png")
        picture = draw(model, recipe, read_rgb(path), class_names)
        Image.fromarray(picture.permute(1, 2, 0).numpy()).save(target)
        written.append(target)
    return written


__all__ = ["DIGITS_BACKBONE", "TASK_DEFAULTS", "Task", "backbone_weights", "data_overrides", "evaluate_run",
           "fresh_output", "load_run", "load_task_recipe", "predict_images", "prediction_inputs", "scenes_or_root",
           "task_defaults", "task_recipe", "train_task", "validate_task_recipe"]
