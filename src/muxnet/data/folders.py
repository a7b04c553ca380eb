"""Class folders: one directory per class, in either of the two layouts every command accepts.

* split: ``DIR/train/<class>/*`` with ``DIR/val/<class>/*`` and/or ``DIR/test/<class>/*`` (the ImageNet
  layout). ``val`` picks the best epoch; ``test`` is reported (``val`` doubles as the test split when there is
  no ``test``). Without ``val/``, ``data.val_fraction`` of ``train`` is held out (seeded), as for CIFAR.
* flat: ``DIR/<class>/*``. A seeded ``data.val_fraction`` (default 0.2) of the images is held out; it serves
  as both the validation and the test split.

Images may sit in sub-folders of a class folder. A tree that is neither layout is refused with an error that
says what was found.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .images import ImageFiles
from .splits import DataError, DataSplits, ReadOptions, holdout

SPLIT_NAMES = ("train", "val", "test")
FLAT_VAL_FRACTION = 0.2
LAYOUTS = "DIR/train/<class>/* with DIR/val/<class>/* and/or DIR/test/<class>/*, or DIR/<class>/*"


def _is_image(path: Path) -> bool:
    from torchvision.datasets.folder import IMG_EXTENSIONS

    return path.is_file() and path.suffix.lower() in IMG_EXTENSIONS


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if _is_image(p))


def folder_layout(root: Path) -> str:
    """``"split"`` or ``"flat"``; :class:`DataError` for a directory that is neither."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"no data directory at {root}")
    subfolders = _subfolders(root)
    if (root / "train").is_dir():
        others = [p.name for p in subfolders if p.name not in SPLIT_NAMES and _images(p)]
        if others:
            raise DataError(f"{root} mixes the two class-folder layouts: it has train/ and also image folders "
                            f"{others[:5]}; expected {LAYOUTS}")
        if not any((root / s).is_dir() for s in ("val", "test")):
            raise DataError(f"{root} has train/ but neither val/ nor test/; expected {LAYOUTS}")
        return "split"
    if subfolders and any(_images(p) for p in subfolders):
        return "flat"
    loose = [p.name for p in root.iterdir() if _is_image(p)][:3]
    found = f"images directly in it ({', '.join(loose)}, ...)" if loose else "no images in class folders"
    raise DataError(f"{root} is not a class-folder tree: found {found}; expected {LAYOUTS}")


def class_samples(folder: Path, classes: Sequence[str]) -> list[tuple[Path, int]]:
    """``(image path, class index)`` of every image in ``folder/<class>/``, indexed by the position of the class in
    ``classes`` (a class without a folder here is skipped, so an evaluation split may lack some classes)."""
    return [(path, idx) for idx, name in enumerate(classes) if (folder / name).is_dir()
            for path in _images(folder / name)]


def _classes(folder: Path) -> list[str]:
    classes = [p.name for p in _subfolders(folder)]
    empty = [c for c in classes if not _images(folder / c)]
    if len(classes) < 2:
        raise DataError(f"{folder}: found {len(classes)} class folder(s) {classes}; a classifier needs at least 2")
    if empty:
        raise DataError(f"{folder}: class folder(s) without images: {empty[:5]}")
    return classes


def class_folder_splits(root: Path, options: ReadOptions) -> DataSplits:
    """The datasets of a class-folder tree (either layout, see the module docstring)."""
    root = Path(root)

    def files(samples, transform) -> ImageFiles:
        return ImageFiles(samples, transform, options.skip_bad_images, options.bad_images_log)

    if folder_layout(root) == "flat":
        classes = _classes(root)
        fraction = FLAT_VAL_FRACTION if options.val_fraction is None else options.val_fraction
        if not fraction:
            raise DataError(f"{root}: a flat class folder has no held-out images with data.val_fraction 0; "
                            f"set it above 0 (default {FLAT_VAL_FRACTION})")
        samples = class_samples(root, classes)
        keep, held = holdout(len(samples), fraction, options.seed)
        val = files([samples[i] for i in held], options.eval_transform)
        return DataSplits(files([samples[i] for i in keep], options.train_transform), val, val, len(classes),
                          False, classes, str(root))

    classes = _classes(root / "train")
    present = {s: root / s for s in ("val", "test") if (root / s).is_dir()}
    held_out = {}
    for split, folder in present.items():
        unknown = [p.name for p in _subfolders(folder) if p.name not in classes]
        if unknown:
            raise DataError(f"{folder} has classes that train/ lacks: {unknown[:5]}")
        samples = class_samples(folder, classes)
        if not samples:
            raise DataError(f"no images found under {folder}")
        held_out[split] = files(samples, options.eval_transform)
    train_samples = class_samples(root / "train", classes)
    val, test = held_out.get("val"), held_out.get("test", held_out.get("val"))
    if val is None and options.val_fraction:
        keep, held = holdout(len(train_samples), options.val_fraction, options.seed)
        val = files([train_samples[i] for i in held], options.eval_transform)
        train_samples = [train_samples[i] for i in keep]
    return DataSplits(files(train_samples, options.train_transform), val, test, len(classes), False, classes,
                      str(root))


__all__ = ["FLAT_VAL_FRACTION", "LAYOUTS", "class_folder_splits", "class_samples", "folder_layout"]
