"""Image transforms shared by every command: evaluation follows the model's data config (interpolation,
crop_pct, mean/std, as timm's ``resolve_data_config`` reads ``model.pretrained_cfg``); training adds one of
the paper's augmentations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TRAIN_TRANSFORMS = ("none", "inception", "resize_flip")


def build_transforms(data_config: dict[str, Any] | None, image_size: int, train_transform: str = "none",
                     eval_crop_pct: float | None = None) -> tuple[Callable, Callable]:
    """Train and eval transforms at ``image_size`` (``data_config``: the model's ``pretrained_cfg``; ``None``
    takes timm's defaults).

    ``inception``: random-resized crop (area 0.08-1) + flip, the ImageNet recipe; ``resize_flip``: resize of
    the whole image + flip, the transfer recipe; ``none``: resize of the whole image, no randomness.
    """
    from timm.data import create_transform, resolve_data_config
    from torchvision import transforms as T

    if train_transform not in TRAIN_TRANSFORMS:
        raise ValueError(f"data.train_transform must be one of {TRAIN_TRANSFORMS}, got {train_transform!r}")
    cfg = resolve_data_config({"input_size": (3, image_size, image_size)}, pretrained_cfg=data_config or {})
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


__all__ = ["TRAIN_TRANSFORMS", "build_transforms"]
