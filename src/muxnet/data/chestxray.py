"""ChestX-Ray14: ``Data_Entry_2017.csv``, ``train_val_list.txt``, ``test_list.txt`` and the PNGs anywhere below
the root. An image listed but missing is an error naming it, or with ``skip_bad_images`` an entry in the
bad-image list.
"""

from __future__ import annotations

import csv
from pathlib import Path

import torch

from .images import ImageFiles, record_bad_image
from .splits import DataError, DataSplits, ReadOptions, holdout

CHESTXRAY_LABELS = (
    "Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule", "Pneumonia", "Pneumothorax",
    "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening", "Hernia",
)


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


def chestxray_splits(root: Path, options: ReadOptions) -> DataSplits:
    """14 binary labels per image; ``val_fraction`` of train_val's patients (whole patients) held out."""
    labels = read_chestxray_labels(root / "Data_Entry_2017.csv")
    images = {p.name: p for p in root.rglob("*.png")}

    def samples(names: list[str], list_file: str) -> list[tuple[Path, torch.Tensor]]:
        out = []
        for name in names:
            if name not in labels:
                raise DataError(f"chestxray: {list_file} lists {name}, which Data_Entry_2017.csv does not label")
            if name not in images:
                if not options.skip_bad_images:
                    raise DataError(f"chestxray: image {name} (listed in {list_file}) not found under {root}")
                record_bad_image(options.bad_images_log, root / name, "missing")
                continue
            out.append((images[name], labels[name][0]))
        return out

    train_val = samples(_read_list(root / "train_val_list.txt"), "train_val_list.txt")
    test = samples(_read_list(root / "test_list.txt"), "test_list.txt")
    if options.val_fraction:
        keep, held = holdout(len(train_val), options.val_fraction, options.seed,
                             [labels[p.name][1] for p, _ in train_val])
        train, val = [train_val[i] for i in keep], [train_val[i] for i in held]
    else:
        train, val = train_val, []

    def files(items, transform):
        return ImageFiles(items, transform, options.skip_bad_images, options.bad_images_log)

    return DataSplits(files(train, options.train_transform), files(val, options.eval_transform) if val else None,
                      files(test, options.eval_transform), len(CHESTXRAY_LABELS), True, list(CHESTXRAY_LABELS),
                      "chestxray")


def looks_like_chestxray(root: Path) -> bool:
    return (root / "Data_Entry_2017.csv").is_file()


__all__ = ["CHESTXRAY_LABELS", "chestxray_splits", "looks_like_chestxray", "read_chestxray_labels"]
