"""The search's proxy data: a small, picklable description that every worker turns into datasets itself.

A search trains thousands of candidates in many worker processes, on many machines. Shipping each worker the
images (float32: 50K x 3 x 224 x 224 is 30 GB) does not scale, so workers receive a :class:`ProxyData`, a few
hundred bytes naming the data, and build the datasets where they run:

* an **embedded** dataset (no directory: the digits, or any generated one :func:`build_data` knows by name) is
  generated again in the worker and held in memory as tensors, its fastest path (``BENCHMARKS.md``);
* a **directory** (any layout :func:`detect_dataset` names) is read once into a uint8 cache at the proxy's
  resolution, ``<cache>/proxy/<name>-<size>px-<subset>-<digest>/`` (``train.u8``, ``val.u8``, labels and
  ``meta.json``), written once per (data, size, subset, seed, normalisation) and memory-mapped read-only by
  every worker: the pages are the kernel's page cache, shared by all workers of a machine and dropped under
  memory pressure, so a worker's private memory does not grow with the dataset. Images are normalised (and
  augmented, with the recipe's ``train_transform``) batch by batch as they are read.

The training images are stored resized to the square proxy size (the ``none`` train transform of
``muxnet train``), the validation images through the evaluation resize and centre crop of the model's data
config, as :func:`muxnet.data.load_tensors` reads them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from .images import BAD_IMAGES_FILE
from .splits import DataError, DataSplits, ReadOptions
from .tensors import PROXY_VAL_FRACTION, load_tensors

CACHE_VERSION = 1
AUGMENTATIONS = ("none", "resize_flip", "inception")


def default_cache_dir() -> Path:
    """``$MUXNET_CACHE_DIR`` (default ``~/.cache/muxnet``), as the latency table's."""
    return Path(os.environ.get("MUXNET_CACHE_DIR") or Path.home() / ".cache" / "muxnet")


@dataclass(frozen=True)
class ProxyData:
    """What a worker needs to build the proxy's train and validation datasets (no pixels).

    ``dataset`` is a reader's name (``digits``, ``imagefolder``, ...); ``root`` its directory, ``None`` for an
    embedded dataset; ``difficulty`` the composition of the embedded cluttered digits (``data.difficulty``).
    ``mean``/``std``/``interpolation``/``crop_pct`` are the model's data config (see :meth:`create`).
    ``cache_dir`` is where directory data is cached (``None``: :func:`default_cache_dir`; on a cluster a shared
    filesystem, or the same local path on every node).
    """

    dataset: str
    root: str | None
    image_size: int
    seed: int = 0
    max_train_samples: int | None = None
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    interpolation: str = "bilinear"
    crop_pct: float = 0.875
    skip_bad_images: bool = False
    cache_dir: str | None = None
    train_transform: str = "none"
    difficulty: str = "standard"

    @classmethod
    def create(cls, dataset: str, root: str | Path | None, image_size: int, data_config: dict[str, Any] | None = None,
               **settings) -> ProxyData:
        """A description with the normalisation and crop of ``data_config`` (a model's ``pretrained_cfg``;
        ``None``: timm's defaults), as :func:`muxnet.data.build_transforms` resolves them."""
        from timm.data import resolve_data_config

        if settings.get("train_transform", "none") not in AUGMENTATIONS:
            raise ValueError(f"train_transform must be one of {AUGMENTATIONS}, got {settings['train_transform']!r}")
        cfg = resolve_data_config({"input_size": (3, image_size, image_size)}, pretrained_cfg=data_config or {})
        return cls(dataset, None if root is None else str(Path(root).resolve()), int(image_size),
                   mean=tuple(float(v) for v in cfg["mean"]), std=tuple(float(v) for v in cfg["std"]),
                   interpolation=str(cfg["interpolation"]), crop_pct=float(cfg["crop_pct"]), **settings)

    @property
    def embedded(self) -> bool:
        return self.root is None

    def data_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "interpolation": self.interpolation, "crop_pct": self.crop_pct}

    def describe(self) -> dict[str, Any]:
        return asdict(self)

    def cache_path(self) -> Path:
        """The cache directory of this data: one per (directory, layout, size, subset, seed, data config,
        bad-image rule); where it lives (``cache_dir``) and the augmentation do not change its content."""
        # a directory's images have no composition: difficulty stays out, as the caches written before it was a field
        content = {k: v for k, v in asdict(self).items() if k not in ("cache_dir", "train_transform", "difficulty")}
        digest = hashlib.sha256(json.dumps({**content, "version": CACHE_VERSION}, sort_keys=True).encode())
        subset = self.max_train_samples or "all"
        name = f"{self.dataset}-{Path(self.root or self.dataset).name}-{self.image_size}px-{subset}"
        return Path(self.cache_dir or default_cache_dir()) / "proxy" / f"{name}-{digest.hexdigest()[:12]}"

    def prepare(self, run_dir: Path | None = None) -> dict[str, Any]:
        """Make the data ready for the workers and return its ``meta`` (``num_classes``, ``multi_label``,
        ``name``, ``train``/``val`` counts): for a directory, the cache is written unless it is complete already,
        and the unreadable images it left out (``skip_bad_images``) are listed in ``run_dir/bad_images.txt``."""
        if self.embedded:
            splits = self.load()
            return {"num_classes": splits.num_classes, "multi_label": splits.multi_label, "name": splits.name,
                    "train": len(splits.train), "val": len(splits.val), "cache": None}
        path = self.cache_path()
        write_cache(self, path)
        meta = json.loads((path / "meta.json").read_text())
        if run_dir is not None and meta["bad_images"]:
            Path(run_dir).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path / BAD_IMAGES_FILE, Path(run_dir) / BAD_IMAGES_FILE)
        return {**meta, "cache": str(path)}

    def load(self) -> DataSplits:
        """The train and validation datasets (``DataSplits.train``/``val``), built in this process and kept for its
        later candidates; a directory's cache is written here first if this machine has none yet."""
        key = json.dumps(asdict(self), sort_keys=True)
        if _LOADED.get("key") != key:
            _LOADED.clear()
            _LOADED.update(key=key, splits=self._load_embedded() if self.embedded else self._load_cached())
        return _LOADED["splits"]

    def _load_embedded(self) -> DataSplits:
        return load_tensors(None, self.image_size, self.seed, self.max_train_samples, self.data_config(),
                            dataset=self.dataset, difficulty=self.difficulty)

    def _load_cached(self) -> DataSplits:
        path = self.cache_path()
        write_cache(self, path)
        meta = json.loads((path / "meta.json").read_text())
        common = dict(size=self.image_size, mean=self.mean, std=self.std)
        train = CachedImages(path / "train.u8", np.load(path / "train_labels.npy"), augment=self.train_transform,
                             **common)
        val = CachedImages(path / "val.u8", np.load(path / "val_labels.npy"), **common)
        return DataSplits(train, val, None, meta["num_classes"], meta["multi_label"], meta["class_names"],
                          meta["name"])


_LOADED: dict[str, Any] = {}  # this process's datasets: one description at a time


class CachedImages(Dataset):
    """uint8 images of a cache file, memory-mapped (``N x 3 x size x size``), served normalised as float32.

    Read a batch at a time (``__getitems__``, which the DataLoader calls with a batch's indices): one read of
    the rows, one conversion, the augmentation on the batch. The map is opened on first use in each process,
    so the dataset pickles as a path.
    """

    def __init__(self, path: Path, labels: np.ndarray, size: int, mean, std, augment: str = "none"):
        if augment not in AUGMENTATIONS:
            raise ValueError(f"augment must be one of {AUGMENTATIONS}, got {augment!r}")
        self.path, self.size, self.augment = Path(path), int(size), augment
        self.labels = torch.from_numpy(np.asarray(labels))
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1) * 255
        self.std = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1) * 255
        self._images: np.memmap | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_images": None}

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def images(self) -> np.memmap:
        if self._images is None:
            self._images = np.memmap(self.path, np.uint8, "r", shape=(len(self), 3, self.size, self.size))
        return self._images

    def __getitems__(self, indices) -> list[tuple[torch.Tensor, torch.Tensor]]:
        index = np.asarray(indices, dtype=np.int64)
        batch = torch.from_numpy(self.images[index])  # fancy indexing copies just these rows out of the map
        batch = _augment(batch, self.augment)
        batch = (batch.float() - self.mean) / self.std
        return list(zip(batch, self.labels[index]))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.__getitems__([index])[0]


def _augment(batch: torch.Tensor, augment: str) -> torch.Tensor:
    """The recipe's train transform on a uint8 batch: ``resize_flip`` flips half the images (the cache holds them
    resized already); ``inception`` takes a random-resized crop (area 0.08-1) of each, then flips half."""
    if augment == "none":
        return batch
    if augment == "inception":
        from torchvision.transforms import v2

        size = list(batch.shape[-2:])
        crops = []
        for image in batch:
            top, left, h, w = v2.RandomResizedCrop.get_params(image, scale=[0.08, 1.0], ratio=[3 / 4, 4 / 3])
            crops.append(v2.functional.resized_crop(image, top, left, h, w, size, antialias=True))
        batch = torch.stack(crops)
    flip = torch.rand(len(batch)) < 0.5
    batch[flip] = batch[flip].flip(-1)
    return batch


class _Uint8Image:
    """PIL image -> uint8 ``3 x size x size`` array: a square resize (training) or the evaluation resize and
    centre crop (validation)."""

    def __init__(self, size: int, interpolation: str, crop_pct: float | None):
        self.size, self.interpolation, self.crop_pct = size, interpolation, crop_pct

    def __call__(self, image) -> np.ndarray:
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as F

        mode = InterpolationMode.BICUBIC if self.interpolation == "bicubic" else InterpolationMode.BILINEAR
        if self.crop_pct is None:
            image = F.resize(image, [self.size, self.size], interpolation=mode)
        else:
            image = F.center_crop(F.resize(image, int(self.size / self.crop_pct), interpolation=mode), self.size)
        return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1))


def write_cache(data: ProxyData, target: Path, workers: int | None = None) -> Path:
    """Write the uint8 cache of ``data`` into ``target`` unless a complete one is there.

    It is written into a temporary sibling and renamed, so a reader never sees half of it. Writers take an
    exclusive lock (POSIX ``flock``) on ``<target>.lock`` first: the workers of a node that finds no cache wait
    for the first of them to write it instead of all decoding the same images.
    """
    from ..runtime.files import COMPLETE_MARKER, write_directory_once

    target = Path(target)
    if (target / COMPLETE_MARKER).is_file():  # written already (it may sit on a read-only filesystem)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(f"{target.name}.lock"), "a") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # no flock (Windows): concurrent writers each write, the first rename wins
            pass
        return write_directory_once(target, lambda folder: _fill_cache(data, folder, workers), "proxy data cache")


def _fill_cache(data: ProxyData, folder: Path, workers: int | None) -> None:
    from .datasets import READERS, detect_dataset
    from .loaders import eval_loader, resolve_workers

    dataset = data.dataset or detect_dataset(data.root)
    if dataset not in READERS:
        raise DataError(f"{dataset!r} has no directory reader; only data directories are cached")
    options = ReadOptions(data.image_size, _Uint8Image(data.image_size, data.interpolation, None),
                          _Uint8Image(data.image_size, data.interpolation, data.crop_pct), data.data_config(),
                          PROXY_VAL_FRACTION, data.seed, data.skip_bad_images, folder / BAD_IMAGES_FILE)
    splits = READERS[dataset](Path(data.root), options)
    train, val = splits.train, splits.val if splits.val is not None else splits.test
    if data.max_train_samples is not None and data.max_train_samples < len(train):  # as load_tensors picks it
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(data.seed))
        train = Subset(train, order[: data.max_train_samples].tolist())
    counts = {}
    for name, split in (("train", train), ("val", val)):
        labels = []
        with open(folder / f"{name}.u8", "wb") as out:
            # decoding processes pay off for thousands of images, not for a few hundred
            loader_workers = resolve_workers(workers) if len(split) >= 2048 else 0
            for batch in eval_loader(split, 64, loader_workers):
                if batch is None:
                    continue
                out.write(batch[0].numpy().tobytes())
                labels.append(batch[1].numpy())
        if not labels:
            raise DataError(f"{data.root}: no readable images left in its {name} split")
        np.save(folder / f"{name}_labels.npy", np.concatenate(labels))
        counts[name] = int(sum(len(x) for x in labels))
    bad = folder / BAD_IMAGES_FILE
    meta = {"num_classes": splits.num_classes, "multi_label": splits.multi_label, "class_names": splits.class_names,
            "name": splits.name, **counts, "image_size": data.image_size, "source": data.describe(),
            "bad_images": len(bad.read_text().splitlines()) if bad.is_file() else 0}
    (folder / "meta.json").write_text(json.dumps(meta, indent=1))


__all__ = ["AUGMENTATIONS", "CachedImages", "ProxyData", "default_cache_dir", "write_cache"]
