"""Every dataset a command can read, by name: ``build_data`` turns a recipe's ``data`` section into
:class:`DataSplits`, ``detect_dataset`` names the layout of a directory given with ``--data``/``--dataset``.

* ``cluttered``: the embedded default, cluttered digits (:func:`muxnet.data.load_cluttered`), a task where
  capacity matters; no directory.
* ``digits``: scikit-learn's digits (:func:`muxnet.data.load_digits`), embedded too; no directory.
* ``imagefolder``: class folders, split (``DIR/train|val|test/<class>/``) or flat (``DIR/<class>/``).
* ``cifar10`` / ``cifar100``: the python-pickle release.
* ``chestxray``: ChestX-Ray14 (14 binary labels per image).
* ``imagenetv2``: ImageNet-V2, class folders named by class index ``0`` .. ``999`` and mapped by number
  (:mod:`muxnet.data.imagenet_v2`); evaluation only.

A reader is a function ``(root, ReadOptions) -> DataSplits`` in its own module, listed in :data:`READERS`
(and in :data:`RECOGNISERS` with a test that recognises its directory); new kinds of data (detection,
segmentation) join the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from .chestxray import chestxray_splits, looks_like_chestxray
from .cifar import cifar_flavour, cifar_splits
from .cluttered import load_cluttered
from .digits import load_digits
from .folders import class_folder_splits, folder_layout
from .imagenet_v2 import imagenet_v2_splits, is_imagenet_v2
from .images import BAD_IMAGES_FILE
from .splits import DataError, DataSplits, ReadOptions
from .transforms import build_transforms

# name -> reader: a function (root, ReadOptions) -> DataSplits
READERS: dict[str, Callable[[Path, ReadOptions], DataSplits]] = {
    "imagefolder": class_folder_splits,
    "cifar10": partial(cifar_splits, num_classes=10),
    "cifar100": partial(cifar_splits, num_classes=100),
    "chestxray": chestxray_splits,
    "imagenetv2": imagenet_v2_splits,
}
# made by the package itself: no directory; the first is what every command reads when given no data
EMBEDDED = ("cluttered", "digits")
DEFAULT_DATASET = EMBEDDED[0]
DATASETS = (*EMBEDDED, *READERS)
# Settings of one embedded dataset, with the value every other dataset reads them as: (key, neutral, dataset).
OWN_SETTINGS = (("train_renders", "fixed", "cluttered"), ("difficulty", "standard", "cluttered"),
                ("digits_pool", "all", "digits"))
# Tried in order by detect_dataset; class folders come last: any directory of folders might be one, and their
# check raises the error that explains the accepted layouts.
RECOGNISERS: tuple[tuple[str, Callable[[Path], bool]], ...] = (
    ("chestxray", looks_like_chestxray),
    ("cifar10", lambda root: cifar_flavour(root) == 10),
    ("cifar100", lambda root: cifar_flavour(root) == 100),
    ("imagenetv2", is_imagenet_v2),  # before class folders: its numbered folders would sort as strings there
)


def detect_dataset(root: str | Path) -> str:
    """The name of the layout of ``root`` (used when only ``--data DIR`` is given)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"no data directory at {root}")
    for name, recognises in RECOGNISERS:
        if recognises(root):
            return name
    try:
        folder_layout(root)
    except DataError as err:
        raise DataError(f"cannot tell the layout of {root}: no CIFAR pickles, no Data_Entry_2017.csv "
                        f"(ChestX-Ray14), and as class folders: {err}") from None
    return "imagefolder"


def build_data(data_cfg: dict[str, Any], data_config: dict[str, Any] | None = None,
               run_dir: Path | None = None) -> DataSplits:
    """The datasets a recipe's ``data`` section describes.

    ``data_config`` is the model's ``pretrained_cfg`` (mean/std, interpolation, crop; ``None``: timm's
    defaults); unreadable images are listed in ``run_dir/bad_images.txt`` when ``data.skip_bad_images`` is set.
    """
    dataset = data_cfg["dataset"]
    if dataset not in DATASETS:
        raise DataError(f"data.dataset must be one of {DATASETS}, got {dataset!r}")
    for key, neutral, owner in OWN_SETTINGS:
        if (data_cfg.get(key) or neutral) != neutral and dataset != owner:
            raise DataError(f"data.{key}: a setting of the embedded {owner} dataset, not of {dataset!r} "
                            f"(got {data_cfg[key]!r})")
    seed = int(data_cfg.get("seed") or 0)
    if dataset == "cluttered":
        return load_cluttered(image_size=data_cfg["image_size"], seed=seed,
                              train_renders=data_cfg.get("train_renders") or "fixed",
                              params=data_cfg.get("difficulty") or "standard")
    if dataset == "digits":
        return load_digits(image_size=data_cfg["image_size"], channels=3, seed=seed,
                           pool=data_cfg.get("digits_pool") or "all")
    if not data_cfg.get("root"):
        raise DataError(f"data.root: dataset {dataset!r} needs a directory (e.g. muxnet train --data DIR)")
    root = Path(data_cfg["root"])
    if not root.is_dir():
        raise DataError(f"data.root: no directory at {root}")
    train_tf, eval_tf = build_transforms(data_config, data_cfg["image_size"], data_cfg["train_transform"],
                                         data_cfg.get("eval_crop_pct"))
    val_fraction = data_cfg.get("val_fraction")
    options = ReadOptions(data_cfg["image_size"], train_tf, eval_tf, data_config,
                          None if val_fraction is None else float(val_fraction), seed,
                          bool(data_cfg.get("skip_bad_images")),
                          run_dir / BAD_IMAGES_FILE if run_dir is not None else None)
    return READERS[dataset](root, options)


__all__ = ["DATASETS", "DEFAULT_DATASET", "EMBEDDED", "READERS", "RECOGNISERS", "build_data", "detect_dataset"]
