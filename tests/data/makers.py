"""Small generated trees for every data layout (class folders, CIFAR pickles, ChestX-Ray14)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from PIL import Image

from muxnet.data import CHESTXRAY_LABELS
from muxnet.models.spec import BlockSpec, NetworkSpec

# A tiny MUXNet (16x16 input) that builds and trains in about a second.
TINY_SPEC = NetworkSpec(
    "tiny_mux", stem_channels=8, stem_stride=1, head_channels=32, input_size=(3, 16, 16), drop_rate=0.0,
    stages=(
        (BlockSpec("ds", 8, se_ratio=0.25, activation="relu"),),
        (BlockSpec("ir", 16, kernel_size=(3, 5), stride=2, expand_ratio=2),
         BlockSpec("mux", 16, expand_ratio=2, group_factor=2, leave_out=0.5, se_ratio=0.25)),
    ),
)

BROKEN_PNG = b"\x89PNG\r\n\x1a\n not really a png"


def _png(path: Path, seed: int, size: int = 20, mode: str = "RGB") -> None:
    rng = np.random.default_rng(seed)
    shape = (size, size, 3) if mode == "RGB" else (size, size)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(path)


def make_image_folder(root: Path, classes=("cat", "dog"), per_class=6, corrupt: bool = True) -> Path:
    """root/train/<class>/*.png and root/val/<class>/*.png; one truncated PNG in train/ when ``corrupt``."""
    for split, n in (("train", per_class), ("val", 2)):
        for c, name in enumerate(classes):
            for i in range(n):
                _png(root / split / name / f"{i}.png", seed=c * 100 + i + (50 if split == "val" else 0))
    if corrupt:
        (root / "train" / classes[0] / "broken.png").write_bytes(BROKEN_PNG)
    return root


def make_flat_folder(root: Path, classes=("cat", "dog"), per_class=8, corrupt: bool = False) -> Path:
    """root/<class>/*.png (the flat layout); one truncated PNG in the first class when ``corrupt``."""
    for c, name in enumerate(classes):
        for i in range(per_class):
            _png(root / name / f"{i}.png", seed=c * 100 + i)
    if corrupt:
        (root / classes[0] / "broken.png").write_bytes(BROKEN_PNG)
    return root


def make_cifar(root: Path, num_classes: int = 10, per_file: int = 6) -> Path:
    """The python-pickle release layout with random images (cifar-10-batches-py or cifar-100-python)."""
    rng = np.random.default_rng(num_classes)

    def batch(n: int, label_key: str) -> dict:
        return {b"data": rng.integers(0, 255, (n, 3072), dtype=np.uint8),
                label_key.encode(): [int(v) for v in rng.integers(0, num_classes, n)]}

    if num_classes == 10:
        folder = root / "cifar-10-batches-py"
        files = {f"data_batch_{i}": batch(per_file, "labels") for i in range(1, 6)}
        files["test_batch"] = batch(per_file, "labels")
        files["batches.meta"] = {b"label_names": [f"c{i}".encode() for i in range(10)]}
    else:
        folder = root / "cifar-100-python"
        files = {"train": batch(per_file * 5, "fine_labels"), "test": batch(per_file, "fine_labels"),
                 "meta": {b"fine_label_names": [f"f{i}".encode() for i in range(100)]}}
    folder.mkdir(parents=True)
    for name, content in files.items():
        with open(folder / name, "wb") as fh:
            pickle.dump(content, fh)
    return root


def make_chestxray(root: Path, n: int = 12, missing: bool = False, corrupt: bool = False) -> Path:
    """Data_Entry_2017.csv + train_val_list.txt + test_list.txt + images/ (grayscale PNGs), 3 per patient."""
    rows, names = [], []
    for i in range(n):
        name = f"{i:08d}_000.png"
        findings = "No Finding" if i % 3 == 0 else "|".join(CHESTXRAY_LABELS[j] for j in ((i % 14), (i * 5) % 14))
        rows.append(f"{name},{findings},0,{i // 3},50,M,PA")
        names.append(name)
        if not (missing and i == 1):
            _png(root / "images" / name, seed=i, mode="L")
    if corrupt:
        (root / "images" / names[2]).write_bytes(b"garbage")
    root.mkdir(parents=True, exist_ok=True)
    (root / "Data_Entry_2017.csv").write_text(
        "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position\n"
        + "\n".join(rows) + "\n")
    (root / "train_val_list.txt").write_text("\n".join(names[: n - 3]) + "\n")
    (root / "test_list.txt").write_text("\n".join(names[n - 3:]) + "\n")
    return root
