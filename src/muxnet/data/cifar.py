"""CIFAR-10/100 from the python-pickle release (``data_batch_1..5``/``test_batch`` or ``train``/``test``), in
``root`` or ``root/cifar-10-batches-py`` / ``root/cifar-100-python``.

The pickles are read with an unpickler that admits only numpy arrays, so a tampered file cannot run code.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from torch.utils.data import Subset

from .images import ArrayImages
from .splits import DataError, DataSplits, ReadOptions, holdout


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


def cifar_splits(root: Path, options: ReadOptions, num_classes: int) -> DataSplits:
    """The python-pickle release: its test split, and ``val_fraction`` of train held out when asked."""
    (train_x, train_y), (test_x, test_y), names = read_cifar(root, num_classes)
    test = ArrayImages(test_x, test_y, options.eval_transform)
    name = f"cifar{num_classes}"
    if not options.val_fraction:
        return DataSplits(ArrayImages(train_x, train_y, options.train_transform), None, test, num_classes, False,
                          names, name)
    keep, held = holdout(len(train_y), options.val_fraction, options.seed)
    train = Subset(ArrayImages(train_x, train_y, options.train_transform), keep)
    val = Subset(ArrayImages(train_x, train_y, options.eval_transform), held)
    return DataSplits(train, val, test, num_classes, False, names, name)


def cifar_flavour(root: Path) -> int | None:
    """10 or 100 when ``root`` holds that CIFAR release, else ``None``."""
    if (root / "cifar-10-batches-py").is_dir() or (root / "data_batch_1").is_file():
        return 10
    if (root / "cifar-100-python").is_dir() or ((root / "train").is_file() and (root / "meta").is_file()):
        return 100
    return None


__all__ = ["cifar_flavour", "cifar_splits", "read_cifar"]
