"""ImageNet-V2 (Recht et al., 2019): ``root/<class index>/*.jpeg`` with folders named ``0`` .. ``999``.

The folder names are ImageNet class *indices* (the order of the sorted WordNet ids), not WordNet ids. Sorting
them as strings, as an ImageFolder does, puts ``10`` after ``1`` and ``100`` after ``10`` and maps 990 of the
1000 classes to the wrong index; here each folder maps to ``int(name)``.
"""

from __future__ import annotations

from pathlib import Path

NUM_CLASSES = 1000


def is_imagenet_v2(root: str | Path) -> bool:
    """The released layout: exactly the folders ``0`` .. ``999``. Anything smaller (a subset, or class folders
    that happen to be numbered, like CIFAR-100 exported as ``0`` .. ``99``) is not guessed to be ImageNet-V2:
    name it with ``--dataset imagenetv2``."""
    root = Path(root)
    if not root.is_dir():
        return False
    folders = {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    return folders == {str(i) for i in range(NUM_CLASSES)}


def imagenet_v2_samples(root: str | Path, num_classes: int = NUM_CLASSES) -> list[tuple[Path, int]]:
    """``(image path, class index)`` for every image under ``root``, the index read from its folder's number."""
    from torchvision.datasets.folder import IMG_EXTENSIONS

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no ImageNet-V2 directory at {root}")
    samples = []
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: (not p.name.isdigit(), p.name)):
        if not folder.name.isdigit():
            raise ValueError(f"ImageNet-V2: folder {folder} is not a class index (expected 0..{num_classes - 1})")
        index = int(folder.name)
        if not 0 <= index < num_classes:
            raise ValueError(f"ImageNet-V2: folder {folder} is outside the class range 0..{num_classes - 1}")
        samples += [(p, index) for p in sorted(folder.iterdir())
                    if p.is_file() and p.suffix.lower() in IMG_EXTENSIONS]
    if not samples:
        raise ValueError(f"ImageNet-V2: no images under {root}")
    return sorted(samples, key=lambda s: (s[1], s[0].name))




def imagenet_v2_splits(root: Path, options):
    """The ``imagenetv2`` reader (``(root, ReadOptions) -> DataSplits``): evaluation only, so its images are the
    ``test`` split and, for recipes that ask for ``val``, the ``val`` split; ``train`` is empty."""
    from .images import ImageFiles
    from .splits import DataSplits

    files = ImageFiles(imagenet_v2_samples(root), options.eval_transform, options.skip_bad_images,
                       options.bad_images_log)
    return DataSplits(ImageFiles([], options.train_transform), files, files, NUM_CLASSES, False,
                      [str(i) for i in range(NUM_CLASSES)], str(root))


__all__ = ["NUM_CLASSES", "imagenet_v2_samples", "imagenet_v2_splits", "is_imagenet_v2"]
