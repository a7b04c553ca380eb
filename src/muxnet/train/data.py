"""Datasets for training and evaluation, read from local files only (nothing is downloaded).

Layouts:

* ``digits``: the embedded default, scikit-learn's digits (:func:`muxnet.data.load_digits`).
* ``imagefolder``: ``root/train/<class>/*`` and ``root/val/<class>/*`` (ImageNet layout; ``root/test`` is
  used as the test split when present, otherwise ``val`` doubles as the test split, as on ImageNet).
* ``imagenetv2``: ImageNet-V2, ``root/<class index>/*`` with folders ``0``..``999`` mapped by number
  (:mod:`muxnet.data.imagenet_v2`); evaluation only.
* ``cifar10`` / ``cifar100``: the python-pickle release (``data_batch_1..5``/``test_batch`` or ``train``/``test``),
  in ``root`` or ``root/cifar-10-batches-py`` / ``root/cifar-100-python``. The pickles are read with an
  unpickler that admits only numpy arrays, so a tampered file cannot run code.
* ``chestxray``: ChestX-Ray14: ``Data_Entry_2017.csv``, ``train_val_list.txt``, ``test_list.txt`` and the PNGs
  anywhere below ``root``; 14 binary labels per image; the validation split holds out whole patients.

Unreadable images raise :class:`BadImageError` naming the file, or, with ``skip_bad_images``, are dropped from
their batch and listed in ``bad_images.txt`` of the run directory.
"""

from __future__ import annotations

import csv
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Subset, default_collate

DATASETS = ("digits", "imagefolder", "imagenetv2", "cifar10", "cifar100", "chestxray")
TRAIN_TRANSFORMS = ("none", "inception", "resize_flip")
CHESTXRAY_LABELS = (
    "Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule", "Pneumonia", "Pneumothorax",
    "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening", "Hernia",
)
BAD_IMAGES_FILE = "bad_images.txt"


class BadImageError(RuntimeError):
    """An image file cannot be decoded; the message names the file."""


class DataError(ValueError):
    """A dataset directory does not have the expected layout; the message names what is missing."""


@dataclass
class DataSplits:
    """Train/val/test datasets and what the loss and metrics need to know about the labels.

    ``val`` picks the best checkpoint; ``test`` is reported (``None`` when the layout has no such split).
    """

    train: Dataset
    val: Dataset | None
    test: Dataset | None
    num_classes: int
    multi_label: bool = False
    class_names: list[str] = field(default_factory=list)


# -- reading images -------------------------------------------------------------------------------------------------
class ImageFiles(Dataset):
    """Images on disk with their targets (class indices, or float vectors for multi-label)."""

    def __init__(self, samples: Sequence[tuple[Path, Any]], transform: Callable | None = None,
                 skip_bad_images: bool = False, bad_images_log: Path | None = None):
        self.samples = list(samples)
        self.transform = transform
        self.skip_bad_images = skip_bad_images
        self.bad_images_log = bad_images_log

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, target = self.samples[index]
        try:
            from PIL import Image

            with Image.open(path) as img:
                img = img.convert("RGB")
        except Exception as err:  # PIL raises many kinds (UnidentifiedImageError, OSError, SyntaxError, ...)
            if not self.skip_bad_images:
                raise BadImageError(f"cannot read image {path}: {type(err).__name__}: {err} "
                                    "(pass --skip-bad-images to skip unreadable files)") from err
            if self.bad_images_log is not None:
                with open(self.bad_images_log, "a") as log:  # append: workers and ranks share the file
                    log.write(f"{path}\t{type(err).__name__}: {err}\n")
            return None
        if self.transform is not None:
            img = self.transform(img)
        return img, target


class ArrayImages(Dataset):
    """uint8 HWC images held in memory (CIFAR), served as PIL images through ``transform``."""

    def __init__(self, images: np.ndarray, labels: Sequence[int], transform: Callable | None = None):
        self.images, self.labels, self.transform = images, list(labels), transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        from PIL import Image

        img = Image.fromarray(self.images[index])
        if self.transform is not None:
            img = self.transform(img)
        return img, self.labels[index]


def collate_skipping_bad(batch: list):
    """Default collation without the samples that :class:`ImageFiles` could not read (``None``)."""
    kept = [item for item in batch if item is not None]
    return default_collate(kept) if kept else None


# -- ImageFolder ----------------------------------------------------------------------------------------------------
def _folder_samples(folder: Path, class_to_idx: dict[str, int]) -> list[tuple[Path, int]]:
    from torchvision.datasets.folder import IMG_EXTENSIONS

    samples = []
    for name, idx in sorted(class_to_idx.items(), key=lambda kv: kv[1]):
        class_dir = folder / name
        if not class_dir.is_dir():
            continue
        for path in sorted(class_dir.rglob("*")):
            if path.is_file() and path.suffix.lower() in IMG_EXTENSIONS:
                samples.append((path, idx))
    return samples


def image_folder_splits(root: Path, train_tf, eval_tf, skip_bad_images=False, bad_log=None) -> DataSplits:
    train_dir, val_dir, test_dir = root / "train", root / "val", root / "test"
    for needed in (train_dir, val_dir):
        if not needed.is_dir():
            raise DataError(f"imagefolder: expected {needed} (layout root/train/<class>/*, root/val/<class>/*)")
    classes = sorted(p.name for p in train_dir.iterdir() if p.is_dir())
    if not classes:
        raise DataError(f"imagefolder: no class folders in {train_dir}")
    unknown = sorted(p.name for p in val_dir.iterdir() if p.is_dir() and p.name not in classes)
    if unknown:
        raise DataError(f"imagefolder: {val_dir} has classes that train/ lacks: {unknown}")
    class_to_idx = {c: i for i, c in enumerate(classes)}

    def files(folder: Path, tf) -> ImageFiles:
        samples = _folder_samples(folder, class_to_idx)
        if not samples:
            raise DataError(f"imagefolder: no images found under {folder}")
        return ImageFiles(samples, tf, skip_bad_images, bad_log)

    val = files(val_dir, eval_tf)
    test = files(test_dir, eval_tf) if test_dir.is_dir() else val
    return DataSplits(files(train_dir, train_tf), val, test, len(classes), False, classes)


# -- CIFAR ----------------------------------------------------------------------------------------------------------
class _ArraysOnlyUnpickler(pickle.Unpickler):
    """The CIFAR pickles hold dicts of lists, strings and numpy arrays; nothing else may be constructed."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy arrays are allowed)")
        return super().find_class(module, name)


def _unpickle_dict(path: Path, what: str) -> dict | None:
    """Load a CIFAR pickle with the arrays-only unpickler; ``None`` when it does not hold a dict.
    Keys come back as ``str`` (the files store some as bytes)."""
    try:
        with open(path, "rb") as fh:
            data = _ArraysOnlyUnpickler(fh, encoding="latin1").load()
    except Exception as err:
        raise DataError(f"cannot read {what} {path}: {type(err).__name__}: {err}") from err
    if not isinstance(data, dict):
        return None
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in data.items()}


def _read_cifar_pickle(path: Path) -> dict:
    if not path.is_file():
        raise DataError(f"CIFAR file missing: {path}")
    data = _unpickle_dict(path, "CIFAR file")
    if data is None:
        raise DataError(f"CIFAR file {path} does not hold a dict")
    if "data" not in data:
        raise DataError(f"CIFAR file {path} has no 'data' entry")
    return data


def read_cifar(root: Path, num_classes: int) -> tuple[tuple[np.ndarray, list[int]], tuple[np.ndarray, list[int]],
                                                      list[str]]:
    """``((train_images, train_labels), (test_images, test_labels), class_names)``; images are N x 32 x 32 x 3."""
    sub = root / ("cifar-10-batches-py" if num_classes == 10 else "cifar-100-python")
    folder = sub if sub.is_dir() else root
    if num_classes == 10:
        train_files, test_files, meta, label_key, names_key = (
            [folder / f"data_batch_{i}" for i in range(1, 6)], [folder / "test_batch"], folder / "batches.meta",
            "labels", "label_names")
    else:
        train_files, test_files, meta, label_key, names_key = (
            [folder / "train"], [folder / "test"], folder / "meta", "fine_labels", "fine_label_names")

    def load(files: list[Path]) -> tuple[np.ndarray, list[int]]:
        images, labels = [], []
        for path in files:
            batch = _read_cifar_pickle(path)
            if label_key not in batch:
                raise DataError(f"CIFAR file {path} has no {label_key!r} entry (is this CIFAR-{num_classes}?)")
            arr = np.asarray(batch["data"], dtype=np.uint8)
            if arr.ndim != 2 or arr.shape[1] != 3 * 32 * 32 or len(arr) != len(batch[label_key]):
                raise DataError(f"CIFAR file {path}: expected N x 3072 images and N labels, got {arr.shape}")
            images.append(arr.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            labels.extend(int(v) for v in batch[label_key])
        bad = sorted({v for v in labels if not 0 <= v < num_classes})
        if bad:
            raise DataError(f"CIFAR-{num_classes} labels out of range in {files[0].parent}: {bad[:5]}")
        return np.concatenate(images), labels

    names = [f"class_{i}" for i in range(num_classes)]
    if meta.is_file():
        values = (_unpickle_dict(meta, "CIFAR meta file") or {}).get(names_key)
        if values and len(values) == num_classes:
            names = [v.decode() if isinstance(v, bytes) else str(v) for v in values]
    return load(train_files), load(test_files), names


def _holdout(n: int, fraction: float, seed: int, groups: Sequence[Any] | None = None) -> tuple[list[int], list[int]]:
    """Indices (kept, held out); whole ``groups`` (e.g. patients) go to one side."""
    rng = np.random.default_rng(seed)
    if groups is None:
        order = rng.permutation(n)
        cut = int(round(n * fraction))
        return sorted(order[cut:].tolist()), sorted(order[:cut].tolist())
    unique = sorted(set(groups))
    chosen = set(rng.permutation(len(unique))[: int(round(len(unique) * fraction))].tolist())
    held = {unique[i] for i in chosen}
    keep = [i for i, g in enumerate(groups) if g not in held]
    out = [i for i, g in enumerate(groups) if g in held]
    return keep, out


def cifar_splits(root: Path, num_classes: int, train_tf, eval_tf, val_fraction: float, seed: int) -> DataSplits:
    (train_x, train_y), (test_x, test_y), names = read_cifar(root, num_classes)
    test = ArrayImages(test_x, test_y, eval_tf)
    if not val_fraction:
        return DataSplits(ArrayImages(train_x, train_y, train_tf), None, test, num_classes, False, names)
    keep, held = _holdout(len(train_y), val_fraction, seed)
    train = Subset(ArrayImages(train_x, train_y, train_tf), keep)
    val = Subset(ArrayImages(train_x, train_y, eval_tf), held)
    return DataSplits(train, val, test, num_classes, False, names)


# -- ChestX-Ray14 ---------------------------------------------------------------------------------------------------
def _read_list(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"chestxray: missing split file {path}")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def read_chestxray_labels(csv_path: Path) -> dict[str, tuple[torch.Tensor, str]]:
    """``{image name: (14-dim 0/1 float vector, patient id)}`` from ``Data_Entry_2017.csv``."""
    if not csv_path.is_file():
        raise DataError(f"chestxray: missing label file {csv_path}")
    index = {name: i for i, name in enumerate(CHESTXRAY_LABELS)}
    out = {}
    with open(csv_path, newline="") as fh:
        reader = csv.DictReader(fh)
        needed = {"Image Index", "Finding Labels"}
        if not reader.fieldnames or not needed <= set(reader.fieldnames):
            raise DataError(f"chestxray: {csv_path} needs the columns {sorted(needed)}, has {reader.fieldnames}")
        for row_no, row in enumerate(reader, start=2):
            target = torch.zeros(len(CHESTXRAY_LABELS))
            for finding in filter(None, (row["Finding Labels"] or "").split("|")):
                finding = finding.strip()
                if finding == "No Finding":
                    continue
                if finding not in index:
                    raise DataError(f"chestxray: {csv_path} line {row_no}: unknown finding {finding!r}; "
                                    f"expected one of {CHESTXRAY_LABELS} or 'No Finding'")
                target[index[finding]] = 1.0
            out[row["Image Index"].strip()] = (target, (row.get("Patient ID") or row["Image Index"]).strip())
    return out


def chestxray_splits(root: Path, train_tf, eval_tf, val_fraction: float, seed: int,
                     skip_bad_images=False, bad_log=None) -> DataSplits:
    labels = read_chestxray_labels(root / "Data_Entry_2017.csv")
    images = {p.name: p for p in root.rglob("*.png")}

    def samples(names: list[str], list_file: str) -> list[tuple[Path, torch.Tensor]]:
        out = []
        for name in names:
            if name not in labels:
                raise DataError(f"chestxray: {list_file} lists {name}, which Data_Entry_2017.csv does not label")
            if name not in images:
                if skip_bad_images:
                    if bad_log is not None:
                        with open(bad_log, "a") as log:
                            log.write(f"{root / name}\tmissing\n")
                    continue
                raise DataError(f"chestxray: image {name} (listed in {list_file}) not found under {root}")
            out.append((images[name], labels[name][0]))
        return out

    train_val = samples(_read_list(root / "train_val_list.txt"), "train_val_list.txt")
    test = samples(_read_list(root / "test_list.txt"), "test_list.txt")
    names = list(CHESTXRAY_LABELS)
    if val_fraction:
        keep, held = _holdout(len(train_val), val_fraction, seed, [labels[p.name][1] for p, _ in train_val])
        train, val = [train_val[i] for i in keep], [train_val[i] for i in held]
    else:
        train, val = train_val, []

    def files(items, tf):
        return ImageFiles(items, tf, skip_bad_images, bad_log)

    return DataSplits(files(train, train_tf), files(val, eval_tf) if val else None, files(test, eval_tf),
                      len(CHESTXRAY_LABELS), True, names)


# -- transforms -----------------------------------------------------------------------------------------------------
def build_transforms(pretrained_cfg: dict[str, Any], image_size: int, train_transform: str,
                     eval_crop_pct: float | None = None) -> tuple[Callable, Callable]:
    """Train and eval transforms; eval follows the model's data config (``model.pretrained_cfg``: interpolation,
    crop_pct, mean/std), as timm's ``resolve_data_config`` reads it.

    ``inception``: random-resized crop (area 0.08-1) + flip, the ImageNet recipe; ``resize_flip``: (bicubic)
    resize of the whole image + flip, the transfer recipe; ``none``: the eval resize without a crop.
    """
    from timm.data import create_transform, resolve_data_config
    from torchvision import transforms as T

    cfg = resolve_data_config({"input_size": (3, image_size, image_size)}, pretrained_cfg=pretrained_cfg)
    if eval_crop_pct is not None:
        cfg["crop_pct"] = eval_crop_pct
    common = dict(input_size=cfg["input_size"], interpolation=cfg["interpolation"], mean=cfg["mean"], std=cfg["std"])
    eval_tf = create_transform(**common, is_training=False, crop_pct=cfg["crop_pct"])
    if train_transform == "inception":
        train_tf = create_transform(**common, is_training=True, scale=(0.08, 1.0), hflip=0.5, color_jitter=None)
    else:
        interp = T.InterpolationMode.BICUBIC if cfg["interpolation"] == "bicubic" else T.InterpolationMode.BILINEAR
        steps = [T.Resize((image_size, image_size), interpolation=interp)]
        if train_transform == "resize_flip":
            steps.append(T.RandomHorizontalFlip())
        train_tf = T.Compose([*steps, T.ToTensor(), T.Normalize(cfg["mean"], cfg["std"])])
    return train_tf, eval_tf


def build_data(data_cfg: dict[str, Any], pretrained_cfg: dict[str, Any] | None = None,
               run_dir: Path | None = None) -> DataSplits:
    """The datasets a recipe's ``data`` section describes (``pretrained_cfg``: the model's data config)."""
    dataset = data_cfg["dataset"]
    if dataset not in DATASETS:
        raise DataError(f"data.dataset must be one of {DATASETS}, got {dataset!r}")
    seed = int(data_cfg.get("seed") or 0)
    if dataset == "digits":
        from ..data import load_digits

        digits = load_digits(image_size=data_cfg["image_size"], channels=3, seed=seed)
        return DataSplits(digits.train, digits.val, digits.test, digits.num_classes, False,
                          [str(i) for i in range(10)])
    if not data_cfg.get("root"):
        raise DataError(f"data.root: dataset {dataset!r} needs a directory (e.g. muxnet train --data DIR)")
    root = Path(data_cfg["root"])
    if not root.is_dir():
        raise DataError(f"data.root: no directory at {root}")
    if pretrained_cfg is None:
        raise ValueError("build_data needs the model's data config (mean/std, interpolation, crop)")
    train_tf, eval_tf = build_transforms(pretrained_cfg, data_cfg["image_size"], data_cfg["train_transform"],
                                         data_cfg.get("eval_crop_pct"))
    skip = bool(data_cfg.get("skip_bad_images"))
    bad_log = (run_dir / BAD_IMAGES_FILE) if run_dir is not None else None
    val_fraction = float(data_cfg.get("val_fraction") or 0.0)
    if dataset == "imagefolder":
        return image_folder_splits(root, train_tf, eval_tf, skip, bad_log)
    if dataset == "imagenetv2":
        from ..data.imagenet_v2 import imagenet_v2_splits

        return imagenet_v2_splits(root, eval_tf, skip, bad_log)
    if dataset in ("cifar10", "cifar100"):
        return cifar_splits(root, 10 if dataset == "cifar10" else 100, train_tf, eval_tf, val_fraction, seed)
    return chestxray_splits(root, train_tf, eval_tf, val_fraction, seed, skip, bad_log)


def detect_dataset(root: str | Path) -> str:
    """Guess the layout of a data directory (used when only ``--data DIR`` is given)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"no data directory at {root}")
    if (root / "Data_Entry_2017.csv").is_file():
        return "chestxray"
    if (root / "cifar-10-batches-py").is_dir() or (root / "data_batch_1").is_file():
        return "cifar10"
    if (root / "cifar-100-python").is_dir() or ((root / "train").is_file() and (root / "meta").is_file()):
        return "cifar100"
    if (root / "train").is_dir():
        return "imagefolder"
    from ..data.imagenet_v2 import is_imagenet_v2

    if is_imagenet_v2(root):
        return "imagenetv2"
    raise DataError(f"cannot tell the layout of {root}: expected train/ and val/ folders, CIFAR pickles, "
                    "Data_Entry_2017.csv (ChestX-Ray14) or ImageNet-V2's numbered class folders")


__all__ = ["BadImageError", "CHESTXRAY_LABELS", "DATASETS", "DataError", "DataSplits", "ImageFiles",
           "TRAIN_TRANSFORMS", "build_data", "build_transforms", "collate_skipping_bad", "detect_dataset",
           "read_chestxray_labels", "read_cifar"]
