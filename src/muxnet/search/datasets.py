"""Data for proxy training: the embedded digits by default, or an ImageFolder directory held in memory.

Proxy training runs a few epochs on a few thousand images, so tensors in memory are simpler and faster than
a DataLoader; the split into train/val is fixed by the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import TensorDataset


@dataclass(frozen=True)
class TrainingData:
    name: str
    train: TensorDataset
    val: TensorDataset
    num_classes: int


def load_training_data(dataset: str | None, input_size: tuple[int, int, int], seed: int = 0,
                       val_fraction: float = 0.2, max_images: int = 20000) -> TrainingData:
    channels, height, width = input_size
    if dataset is None:
        from ..data.digits import load_digits

        splits = load_digits(image_size=height, channels=channels, seed=seed)
        return TrainingData("digits", splits.train, splits.val, splits.num_classes)
    return load_image_folder(dataset, input_size, seed, val_fraction, max_images)


def load_image_folder(path: str | Path, input_size: tuple[int, int, int], seed: int = 0,
                      val_fraction: float = 0.2, max_images: int = 20000) -> TrainingData:
    """An ImageFolder tree (``root/<class>/<image>``) resized to ``input_size``, standardised per channel."""
    from torchvision import datasets, transforms

    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset: no directory at {root} (expected an ImageFolder tree root/<class>/*.png)")
    channels, height, width = input_size
    steps = [transforms.Resize((height, width))]
    if channels == 1:
        steps.append(transforms.Grayscale(1))
    steps.append(transforms.ToTensor())
    try:
        folder = datasets.ImageFolder(str(root), transform=transforms.Compose(steps))
    except (FileNotFoundError, RuntimeError) as err:
        raise FileNotFoundError(f"dataset: {root} is not an ImageFolder tree ({err})") from None
    if len(folder.classes) < 2:
        raise ValueError(f"dataset: {root} has {len(folder.classes)} class folder(s); need at least 2")
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(folder), generator=generator)[:max_images]
    images = torch.stack([folder[int(i)][0] for i in order])
    labels = torch.tensor([folder.targets[int(i)] for i in order])
    n_val = max(1, int(len(order) * val_fraction))
    mean = images[n_val:].mean(dim=(0, 2, 3), keepdim=True)
    std = images[n_val:].std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
    images = (images - mean) / std
    return TrainingData(str(root), TensorDataset(images[n_val:], labels[n_val:]),
                        TensorDataset(images[:n_val], labels[:n_val]), len(folder.classes))


__all__ = ["TrainingData", "load_image_folder", "load_training_data"]
