"""The dense tasks (detection, segmentation): what each task is, and its runs through the one training loop.

A :class:`Task` describes a dense task: its recipe schema, how to build its model and data, its loss on a batch
and its evaluation. :class:`DenseTrainingTask` puts a task and a recipe in the form :mod:`muxnet.train.loop`
trains, so a dense run gets what a classification run gets (DDP under ``torchrun``, EMA, AMP, resume, the
progress line) and writes the same run directory as ``muxnet train`` (``recipe.yaml``, ``metrics.jsonl``,
``last.pt`` to resume from, ``best``/``last`` weights as ``.pt`` and ``.safetensors``, ``summary.json``). The test
split is evaluated after every epoch and picks the best checkpoint, as ``muxnet train`` does on layouts without a
validation split. Also here: evaluating a finished run and drawing its predictions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from torch.utils.data import Dataset

from ..runtime import refuse_existing_run, resolve_device
from . import checkpoint as ckpt
from .distributed import Dist, broadcast_from_main
from .loop import RunInfo, best_record, run_training
from .recipes import DenseRecipe, apply_overrides, load_recipe, saved_recipe, validate_recipe

DIGITS_BACKBONE = "digits"

TASK_DEFAULTS: dict[str, Any] = DenseRecipe.defaults()  # every key dense recipes share, as a dict


class Task(Protocol):
    kind: str                      # "detect" or "segment": the recipe's ``task`` and the command's name
    primary: str                   # the metric that picks the best checkpoint (higher is better)
    datasets: tuple[str, ...]      # values of data.dataset
    schema: type[DenseRecipe]      # the recipe schema: DenseRecipe with this kind, datasets and model keys
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
    """A recipe of ``task`` (a shipped name or a file) with ``overrides``, validated by the task's schema."""
    return load_recipe(name_or_path, overrides, task.schema)


def validate_task_recipe(task: Task, recipe: dict[str, Any]) -> dict[str, Any]:
    """Check ``recipe`` against the task's schema; returns it complete, as :func:`validate_recipe` does."""
    return validate_recipe(recipe, task.schema)


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


class SceneTask:
    """The part of a :class:`Task` that detection and segmentation share: the recipe's ``task`` and
    ``data.dataset`` values are the schema's, a model is named ``<head>_<backbone>``, and the data is the embedded
    scenes or a directory of the task's standard layout. A subclass states what is its own: ``schema``,
    ``primary``, ``default_recipes``, how its model names split (``split_model_name``: name -> (head, backbone)),
    the writer of its scenes (``write_scenes``, as :func:`scenes_or_root` calls it) and what a directory of its
    standard layout holds (``layout``)."""

    schema: type[DenseRecipe]
    primary: str
    default_recipes: tuple[str, str]
    split_model_name: Callable[[str], tuple[str, str]]
    write_scenes: Callable[..., Path]
    layout: str

    @property
    def kind(self) -> str:
        return self.schema.kind

    @property
    def datasets(self) -> tuple[str, ...]:
        return self.schema.datasets

    def backbone_name(self, recipe: dict[str, Any]) -> str:
        return self.split_model_name(recipe["model"]["name"])[1]

    def data_root(self, recipe: dict[str, Any]) -> Path:
        return scenes_or_root(recipe, self.write_scenes, self.layout)


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


class DenseTrainingTask:
    """A dense task and its recipe in the form the training loop trains (:class:`~muxnet.train.loop.TrainingTask`).

    Evaluation runs on the main process only and is shared with the others: the metrics (mAP, mIoU) are not
    sums over images that shards could add up, and one process evaluating the whole test split gives the same
    numbers as a single-process run.
    """

    selected_on = "test"

    def __init__(self, task: Task, recipe: dict[str, Any]):
        self.task, self.recipe, self.primary = task, validate_task_recipe(task, recipe), task.primary

    def build(self, run_dir: Path, resume: bool, d: Dist, device: torch.device, log) -> tuple[nn.Module, Dataset]:
        self.train_set = self.task.build_data(self.recipe, "train", run_dir)
        self.test_set = self.task.build_data(self.recipe, "test", run_dir)
        # a resumed run restores every weight from last.pt: the backbone's starting point no longer matters (a
        # digits backbone is pre-trained by every process together: under torchrun its run is distributed too)
        start = None if resume else backbone_weights(self.task, self.recipe, run_dir, log)
        recipe = apply_overrides(self.recipe, [("model.backbone_weights", start)])
        return self.task.build_model(recipe, self.train_set.num_classes), self.train_set

    def collate(self, batch: list) -> Any:
        return self.task.collate(batch)

    def loss(self, model: nn.Module, batch: Any, device: torch.device) -> tuple[torch.Tensor, int]:
        return self.task.loss(model, batch, device)

    def evaluate(self, model: nn.Module, device: torch.device, d: Dist, amp: bool) -> dict[str, Any]:
        test = self.task.evaluate(model, self.test_set, self.recipe, device) if d.main else None
        return {"test": broadcast_from_main(test, d)}

    def data_line(self) -> str:
        return f"{len(self.train_set)} train / {len(self.test_set)} test images"

    def summary(self, model: nn.Module, info: RunInfo) -> dict[str, Any]:
        best, last = best_record(info), info.history[-1] if info.history else None
        return {"task": self.task.kind, "model": self.recipe["model"]["name"], "recipe": self.recipe["recipe"],
                "dataset": self.recipe["data"]["dataset"], "num_classes": self.train_set.num_classes,
                "class_names": list(self.train_set.class_names),
                "params": sum(p.numel() for p in model.parameters()),
                "image_size": self.recipe["data"]["image_size"], "epochs": self.recipe["schedule"]["epochs"],
                "steps": info.progress.step, "selected_on": self.selected_on, "primary": self.primary,
                "best": {"epoch": best["epoch"], "test": best["test"]} if best else None,
                "last": {"epoch": last["epoch"], "test": last["test"]} if last else None,
                "wall_time_s": info.wall_time, "world_size": info.world_size, "device": str(info.device),
                "bad_images": len(self.train_set.skipped) + len(self.test_set.skipped),
                "run_dir": str(info.run_dir)}


def train_task(task: Task, recipe: dict[str, Any], resume: bool = False,
               log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train as ``recipe`` says; returns the summary (also written to ``summary.json``). The run is the one
    training loop's (:func:`muxnet.train.loop.run_training`), with ``task``'s model, data, loss and metric."""
    return run_training(DenseTrainingTask(task, recipe), resume, log)


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
    device = resolve_device(recipe["training"]["device"])
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
    inputs = prediction_inputs(task, recipe, images)
    # predictions never overwrite a file: refused before any image is drawn
    refuse_existing_run(out_dir, [f"{path.stem}{suffix}.png" for path in inputs], "predictions")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in inputs:
        target = out_dir / f"{path.stem}{suffix}.png"
        picture = draw(model, recipe, read_rgb(path), class_names)
        Image.fromarray(picture.permute(1, 2, 0).numpy()).save(target)
        written.append(target)
    return written


__all__ = ["DIGITS_BACKBONE", "TASK_DEFAULTS", "DenseTrainingTask", "SceneTask", "Task", "backbone_weights",
           "data_overrides", "evaluate_run", "load_run", "load_task_recipe", "predict_images", "prediction_inputs",
           "scenes_or_root", "task_recipe", "train_task", "validate_task_recipe"]
