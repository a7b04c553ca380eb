"""The released ImageNet-C layout: ``root/<corruption>/<severity>/<wnid>/*.JPEG`` (Hendrycks & Dietterich).

The release also nests corruptions under category folders (``noise/``, ``blur/``, ``weather/``, ``digital/``,
``extra/``); both forms are found. A tree with corruptions or severities missing is still evaluated: what exists
is listed in :attr:`ImageNetCTree.found`, what is missing in :attr:`ImageNetCTree.missing`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

CATEGORY_FOLDERS = ("noise", "blur", "weather", "digital", "extra")


@dataclass
class ImageNetCTree:
    root: Path
    found: dict[tuple[str, int], Path] = field(default_factory=dict)
    missing: list[tuple[str, int]] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)

    def missing_text(self) -> str:
        return ", ".join(f"{c}/{s}" for c, s in self.missing)


def scan_imagenet_c(root: str | Path, corruptions: tuple[str, ...], severities: tuple[int, ...]) -> ImageNetCTree:
    """Which ``(corruption, severity)`` folders exist under ``root``, and the class (wnid) folders, sorted as
    torchvision's ImageFolder sorts ImageNet's train folders, so indices match a model trained on them."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no ImageNet-C directory at {root}")
    tree = ImageNetCTree(root)
    classes: set[str] = set()
    for name in corruptions:
        candidates = [root / name, *(root / cat / name for cat in CATEGORY_FOLDERS)]
        base = next((p for p in candidates if p.is_dir()), None)
        for severity in severities:
            folder = base / str(severity) if base is not None else None
            if folder is not None and folder.is_dir() and any(p.is_dir() for p in folder.iterdir()):
                tree.found[(name, severity)] = folder
                classes.update(p.name for p in folder.iterdir() if p.is_dir())
            else:
                tree.missing.append((name, severity))
    if not tree.found:
        raise ValueError(f"{root} holds none of the expected <corruption>/<severity>/<class>/ folders "
                         f"(e.g. {root / corruptions[0] / str(severities[0])})")
    tree.classes = sorted(classes)
    return tree


__all__ = ["CATEGORY_FOLDERS", "ImageNetCTree", "scan_imagenet_c"]
