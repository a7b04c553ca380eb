"""Training recipes: the paper's settings as named YAML files over one schema, overridable key by key.

A recipe is a nested mapping. :data:`DEFAULTS` is the schema: every key a recipe file or a ``--set`` override
may use, with its default. Recipe files (``muxnet/configs/<name>.yaml``) only list what differs, so a typo
in a file or an override is caught (``unknown recipe key 'optimizer.lrr'``) instead of silently ignored.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

DEFAULTS: dict[str, Any] = {
    "recipe": "custom",
    "model": {
        "name": "muxnet_digits",   # zoo name or spec file (.yaml/.json)
        "pretrained": None,        # checkpoint to start from; a differently sized classifier is re-initialised
        "drop_rate": None,         # None keeps the spec's own value
        "drop_path_rate": None,
    },
    "data": {
        "dataset": "digits",       # digits | imagefolder | imagenetv2 | cifar10 | cifar100 | chestxray
        "root": None,
        "image_size": 32,
        "batch_size": 64,          # per process
        "eval_batch_size": None,   # None: 2 x batch_size
        "workers": None,           # loader processes; None: the cores available to each process, at most 8
        "train_transform": "none",  # none | inception | resize_flip
        "eval_crop_pct": None,     # None: the model's pretrained_cfg crop_pct
        "val_fraction": None,      # held out of train when the layout has no validation split (None: 0, or
                                   # 0.2 for a flat class folder, which has no other held-out images)
        "skip_bad_images": False,
        "seed": 0,                 # fixes the held-out split
        "digits_pool": "all",      # digits only: all images, or "scenes_train" (those of the embedded scenes'
                                   # training split: a backbone pre-trained for the scenes never sees their test)
    },
    "optimizer": {
        "name": "sgd",             # any timm optimizer name (sgd, rmsproptf, adamw, ...)
        "lr": 0.1,
        "momentum": 0.9,
        "weight_decay": 0.0,
        "alpha": None,             # RMSProp decay
        "eps": None,
        "nesterov": None,
    },
    "schedule": {
        "name": "cosine",          # any timm scheduler name (cosine, step, multistep, ...)
        "epochs": 10,
        "warmup_epochs": 0,
        "warmup_lr": 1.0e-6,
        "min_lr": 0.0,
        "decay_epochs": None,      # step schedules: decay interval in epochs
        "decay_rate": 0.1,
    },
    "training": {
        "loss": None,              # cross_entropy | bce; None follows the labels (bce for multi-label data)
        "label_smoothing": 0.0,
        "grad_clip": None,         # max global gradient norm
        "ema_decay": None,         # EMA of weights (evaluated and saved as the best model when set)
        "amp": True,               # only takes effect on CUDA
        "channels_last": False,
        "seed": 0,
        "checkpoint_every_steps": 0,  # also write last.pt every N optimizer steps (0: once per epoch)
        "sync_bn": False,
        "device": None,            # None: cuda when available, else cpu
        "threads": None,           # CPU threads for torch (None: torch's default)
    },
    "output": {
        "dir": None,               # None: runs/<recipe>-<model>
        "progress": True,
        "tensorboard": False,
    },
}


class RecipeError(ValueError):
    """A recipe file or override is invalid; the message names the key and the value."""


def recipe_names() -> list[str]:
    """Recipes shipped with the package."""
    folder = resources.files("muxnet") / "configs"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _read_recipe_file(name_or_path: str | Path) -> tuple[dict[str, Any], str]:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise RecipeError(f"no recipe file at {path}")
        text, where = path.read_text(), str(path)
    else:
        if str(name_or_path) not in recipe_names():
            raise RecipeError(f"unknown recipe {str(name_or_path)!r}; shipped recipes: {', '.join(recipe_names())}"
                              " (or pass a .yaml file)")
        res = resources.files("muxnet") / "configs" / f"{name_or_path}.yaml"
        text, where = res.read_text(), f"recipe {name_or_path!r}"
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise RecipeError(f"{where}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{where}: a recipe must be a mapping, got {type(data).__name__}")
    return data, where


def _merge(base: dict[str, Any], update: Mapping[str, Any], where: str, prefix: str = "") -> None:
    for key, value in update.items():
        dotted = f"{prefix}{key}"
        if key not in base:
            raise RecipeError(f"{where}: unknown recipe key {dotted!r}; known keys here: {sorted(base)}")
        if isinstance(base[key], dict):
            if not isinstance(value, Mapping):
                raise RecipeError(f"{where}: {dotted!r} must be a mapping, got {value!r}")
            _merge(base[key], value, where, dotted + ".")
        else:
            if isinstance(value, Mapping):
                raise RecipeError(f"{where}: {dotted!r} takes a single value, got a mapping")
            base[key] = value


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"optimizer.lr=0.01"`` -> (["optimizer", "lr"], 0.01); the value is read as YAML (numbers, null, lists)."""
    if "=" not in text:
        raise RecipeError(f"override {text!r} must look like section.key=value, e.g. optimizer.lr=0.01")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(recipe: dict[str, Any], overrides: Iterable[str | tuple[str, Any]]) -> dict[str, Any]:
    """A copy of ``recipe`` with ``section.key=value`` strings (or ``(dotted key, value)`` pairs) applied."""
    recipe = copy.deepcopy(recipe)
    for item in overrides:
        if isinstance(item, str):
            path, value = parse_override(item)
        else:
            path, value = item[0].split("."), item[1]
        nested: Any = value
        for part in reversed(path):
            nested = {part: nested}
        _merge(recipe, nested, f"override {'.'.join(path)}={value!r}")
    return recipe


def load_recipe(name_or_path: str | Path = "digits",
                overrides: Iterable[str | tuple[str, Any]] = ()) -> dict[str, Any]:
    """The full recipe: :data:`DEFAULTS`, then the named recipe (or a YAML file), then ``overrides``."""
    data, where = _read_recipe_file(name_or_path)
    recipe = copy.deepcopy(DEFAULTS)
    _merge(recipe, data, where)
    recipe = apply_overrides(recipe, overrides)
    validate_recipe(recipe)
    return recipe


RECIPE_FOR_DATASET = {"digits": "digits", "imagefolder": "imagenet", "imagenetv2": "imagenet", "cifar10": "transfer",
                      "cifar100": "transfer", "chestxray": "chestxray"}


def saved_recipe(run_dir: str | Path) -> Path:
    """The ``recipe.yaml`` a run directory was started with (what a resume continues)."""
    saved = Path(run_dir) / "recipe.yaml"
    if not saved.is_file():
        raise RecipeError(f"cannot resume {run_dir}: it has no recipe.yaml (is it a muxnet run directory?)")
    return saved


def build_recipe(recipe: str | Path | None = None, data: str | Path | None = None, dataset: str | None = None,
                 resume: str | Path | None = None, overrides: Iterable[str | tuple[str, Any]] = ()) -> dict[str, Any]:
    """The recipe a ``muxnet train``/``eval`` command line describes.

    ``resume`` (a run directory) starts from that run's saved ``recipe.yaml``. Otherwise ``recipe`` is a shipped
    name or a file; when it is not given it follows the data: no data is the embedded ``digits`` default, a
    CIFAR directory the ``transfer`` recipe, ChestX-Ray14 ``chestxray``, an ImageFolder ``imagenet``.
    """
    from ..data import detect_dataset

    pairs: list[str | tuple[str, Any]] = []
    if resume is not None:
        base: str | Path = saved_recipe(resume)
        pairs.append(("output.dir", str(resume)))
    else:
        if data is not None and dataset is None:
            dataset = detect_dataset(data)
        base = recipe or RECIPE_FOR_DATASET.get(dataset or "digits", "digits")
    if data is not None:
        pairs.append(("data.root", str(data)))
    if dataset is not None:
        pairs.append(("data.dataset", dataset))
    return load_recipe(base, [*pairs, *overrides])


def validate_recipe(recipe: Mapping[str, Any]) -> None:
    """Checks that do not need a model or data, so a bad command fails before anything is built."""
    def fail(key: str, why: str) -> None:
        section, name = key.split(".")
        raise RecipeError(f"{key}: {why} (got {recipe[section][name]!r})")

    data, opt, sched, train = recipe["data"], recipe["optimizer"], recipe["schedule"], recipe["training"]
    from ..data import DATASETS, TRAIN_TRANSFORMS
    from ..data.digits import DIGIT_POOLS
    from .optim import LOSSES

    if data["dataset"] not in DATASETS:
        fail("data.dataset", f"must be one of {DATASETS}")
    if data["digits_pool"] not in DIGIT_POOLS:
        fail("data.digits_pool", f"must be one of {DIGIT_POOLS}")
    if data["train_transform"] not in TRAIN_TRANSFORMS:
        fail("data.train_transform", f"must be one of {TRAIN_TRANSFORMS}")
    for key, section, minimum in (("image_size", data, 8), ("batch_size", data, 1), ("epochs", sched, 1)):
        value = section[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            fail(f"{'data' if section is data else 'schedule'}.{key}", f"must be an integer >= {minimum}")
    fraction = data["val_fraction"]
    if fraction is not None and (not isinstance(fraction, (int, float)) or not 0 <= fraction < 1):
        fail("data.val_fraction", "must be in [0, 1) or null")
    workers = data["workers"]
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 0):
        fail("data.workers", "must be an integer >= 0 or null (the cores available)")
    if not isinstance(opt["lr"], (int, float)) or opt["lr"] <= 0:
        fail("optimizer.lr", "must be a positive number")
    if train["loss"] is not None and train["loss"] not in LOSSES:
        fail("training.loss", f"must be one of {LOSSES} or null (follows the labels)")
    if train["ema_decay"] is not None and not 0 < train["ema_decay"] < 1:
        fail("training.ema_decay", "must be in (0, 1) or null")
    if not isinstance(train["checkpoint_every_steps"], int) or train["checkpoint_every_steps"] < 0:
        fail("training.checkpoint_every_steps", "must be an integer >= 0")


__all__ = ["DEFAULTS", "RECIPE_FOR_DATASET", "RecipeError", "apply_overrides", "build_recipe", "load_recipe",
           "parse_override", "recipe_names", "saved_recipe", "validate_recipe"]
