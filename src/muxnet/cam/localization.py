"""``muxnet cam``: class activation maps written as overlays, and how often they hit ground-truth boxes.

* image files (``images``): each resized (whole, no crop) to the model's input and drawn with its CAM and/or
  Grad-CAM for the given class, or the predicted one;
* ChestX-Ray14 (``chestxray=ROOT``): every image of ``BBox_List_2017.csv`` found under the root, with the map
  of each boxed finding and that finding's boxes drawn over it; per finding, the pointing-game accuracy (within
  ``tolerance`` pixels of the original image, against the union of the finding's boxes) beside its chance level,
  and the mean IoU and hit rate of the thresholded map (:mod:`muxnet.cam.boxes`);
* the embedded default (nothing given): digits test images at the model's 32x32 (upsampled from 8x8, as in
  training), the map of the true class, and the box around each digit's ink; the same hit metrics are reported
  per digit class. (:func:`digit_scenes` can paste digits on a larger blank canvas, but the default model does
  not carry over: 11% top-1 on 64x64 canvases, 63% with 28-pixel digits on 32x32, so maps of its mistakes
  would say little.)

Writes ``summary.json`` and the pictures into the output directory; nothing already there is overwritten. A run
is described by a :class:`CamConfig`, and everything it names is checked before the model is loaded (the embedded
default is trained on first use); the sources of images live in :mod:`muxnet.cam.inputs`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..runtime import atomic_write, optional_path, refuse_existing_run, resolve_device
from .boxes import HIT_IOU, POINTING_TOLERANCE, Box, aggregate, box_scores
from .inputs import (
    BoxedImages,
    CamImages,
    check_images,
    chestxray_input,
    digits_input,
    image_files_input,
    scan_chestxray,
)
from .maps import METHODS, activation_maps, check_classes, overlay

OUTPUTS = ("summary.json",)
DEFAULT_DIGITS = 32  # digits test images drawn by the embedded default


@dataclass(frozen=True)
class CamConfig:
    """Everything a cam run depends on (see the module docstring for the three sources of images).

    The values are checked when the config is built (the method, the threshold, the combination of sources);
    the paths when the run starts, by :func:`check_inputs`, before any model is loaded or trained.
    ``model``/``checkpoint``: as :func:`muxnet.train.targets.load_target` (nothing: the embedded default).
    ``classes``: the class whose map is drawn, one per image or one for all (default: the true class when
    known, else the predicted one). ``boxes``: the box list of ``chestxray`` (default: its ``BBox_List_2017.csv``).
    ``tolerance``: the pointing game's, in pixels of the original image (TorchRay's default, 15; 0: inside only).
    """

    model: str | Path | None = None
    checkpoint: str | Path | None = None
    images: Sequence[str | Path] = ()
    output: str | Path = "runs/cam"
    method: str = "both"
    classes: Sequence[int] | None = None
    chestxray: str | Path | None = None
    boxes: str | Path | None = None
    threshold: float = 0.5
    tolerance: int = POINTING_TOLERANCE
    max_images: int | None = None
    device: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name in ("checkpoint", "chestxray", "boxes"):
            put(name, optional_path(getattr(self, name)))
        put("output", Path(self.output))
        if isinstance(self.images, (str, Path)):
            raise ValueError(f"images: expected a list of files, got {self.images!r}")
        put("images", tuple(Path(p) for p in self.images or ()))
        put("classes", tuple(int(c) for c in self.classes) if self.classes else None)
        if self.method != "both" and self.method not in METHODS:
            raise ValueError(f"method must be cam, gradcam or both, got {self.method!r}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if isinstance(self.tolerance, bool) or not isinstance(self.tolerance, int) or self.tolerance < 0:
            raise ValueError(f"tolerance: must be an integer number of pixels >= 0, got {self.tolerance!r}")
        if self.images and self.chestxray:
            raise ValueError("give either image files or --data (ChestX-Ray14), not both")
        if self.boxes is not None and self.chestxray is None:
            raise ValueError("--boxes is the box list of --data (ChestX-Ray14): give --data too")
        if self.max_images is not None and (not isinstance(self.max_images, int) or self.max_images < 1):
            raise ValueError(f"max_images: must be an integer >= 1, got {self.max_images!r}")
        if self.classes and min(self.classes) < 0:
            raise ValueError(f"classes: class indices must be >= 0, got {list(self.classes)}")

    @property
    def methods(self) -> tuple[str, ...]:
        return METHODS if self.method == "both" else (self.method,)


@dataclass
class CheckedInputs:
    """What :func:`check_inputs` found: the device and, for ChestX-Ray14, the boxed images present."""

    device: torch.device
    boxed: BoxedImages | None = None


def check_inputs(config: CamConfig) -> CheckedInputs:
    """Every path and device of ``config``, checked before any work: the output directory is free, the image
    files decode, the ChestX-Ray14 box list reads and some of its images are there."""
    from ..train.targets import check_target

    refuse_existing_run(config.output, OUTPUTS, "a cam run")
    device = resolve_device(config.device)
    check_target(config.model, config.checkpoint, digits_data=not config.images and config.chestxray is None,
                 other_data="image files or --data (ChestX-Ray14)")
    check_images(config.images[:config.max_images])
    boxed = scan_chestxray(config.chestxray, config.boxes, config.max_images) if config.chestxray else None
    return CheckedInputs(device, boxed)


def run_cam(config: CamConfig | None = None, /, *, log: Callable[[str], None] = print,
            **settings: Any) -> dict[str, Any]:
    """Draw class activation maps (see the module docstring) and return the run's summary.

    ``settings``: the fields of :class:`CamConfig` as keywords, for a caller that does not build one.
    """
    from ..train.targets import start_analysis

    config, inputs, target, start = start_analysis(CamConfig, config, settings, "run_cam", check_inputs, log)
    net = target.model.to(inputs.device)
    if config.images:
        images = image_files_input(target, config.images, config.max_images)
    elif inputs.boxed is not None:
        log(f"{len(inputs.boxed.records)} of {inputs.boxed.listed} boxed images found under {inputs.boxed.root}")
        images = chestxray_input(target, inputs.boxed)
    else:
        images = digits_input(target, config.max_images or DEFAULT_DIGITS, config.seed)

    x = _to_tensor(images.pixels, images.mean, images.std).to(inputs.device)
    with torch.no_grad():
        predicted = net(x).argmax(dim=1).tolist()
    chosen = list(config.classes) if config.classes else (images.truth if images.truth is not None else predicted)
    if len(chosen) == 1 and len(images.pixels) > 1:
        chosen = chosen * len(images.pixels)
    if len(chosen) != len(images.pixels):
        raise ValueError(f"--classes gives {len(chosen)} class indices for {len(images.pixels)} images")
    check_classes(net, chosen)
    log(f"{', '.join(config.methods)} of {target.name} on {images.described}")
    maps = {m: activation_maps(net, x, chosen, m) for m in config.methods}
    return _write_outputs(config, target, images, maps, chosen, predicted, start)


def _write_outputs(config: CamConfig, target, images: CamImages, maps: dict[str, np.ndarray], chosen: list[int],
                   predicted: list[int], start: float) -> dict[str, Any]:
    """The overlay pictures, 16 images each, then ``summary.json`` last (atomically)."""
    out, methods = config.output, config.methods
    boxes = [images.input_boxes(i) for i in range(len(images.pixels))]
    out.mkdir(parents=True, exist_ok=True)
    pictures = []
    titles = [f"{n}\nclass {c} / pred {p}" for n, c, p in zip(images.names, chosen, predicted)]
    for start_i in range(0, len(images.pixels), 16):
        part = slice(start_i, start_i + 16)
        path = out / f"cam_{start_i // 16:03d}.png"
        _grid(images.pixels[part], {m: v[part] for m, v in maps.items()}, titles[part], boxes[part], path,
              f"{target.name}: {' and '.join(methods)} (boxes: ground truth)")
        pictures.append(path.name)
    per_image = []
    for i, name in enumerate(images.names):
        entry: dict[str, Any] = {"name": name, "class": int(chosen[i]), "predicted": int(predicted[i])}
        if images.boxes[i]:
            entry["scores"] = {m: box_scores(maps[m][i], images.boxes[i], images.sizes[i], config.threshold,
                                             config.tolerance) for m in methods}
        per_image.append(entry)
    hits: dict[str, Any] = {}
    if any(images.boxes):
        hits = {m: aggregate((images.groups[i], entry["scores"][m]) for i, entry in enumerate(per_image)
                             if "scores" in entry) for m in methods}
    truth = images.truth
    summary = {
        "model": target.name, "checkpoint": target.checkpoint, "evaluated_on": images.described,
        "methods": list(methods), "threshold": config.threshold, "hit_iou": HIT_IOU,
        "pointing_tolerance": config.tolerance, "pictures": pictures,
        "hits": hits,
        "accuracy": (100.0 * float(np.mean([p == t for p, t in zip(predicted, truth)])) if truth else None),
        "images": per_image, "wall_time_s": round(time.time() - start, 1),
    }
    atomic_write(out / "summary.json",
                 json.dumps(summary, indent=2, default=lambda v: bool(v) if isinstance(v, np.bool_) else float(v)))
    return summary


def _to_tensor(images: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    return (x - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]


def _grid(images: np.ndarray, maps: dict[str, np.ndarray], titles: Sequence[str], boxes: Sequence[Sequence[Box]],
          path: Path, title: str, cols: int = 8) -> Path:
    """Rows of (image, one overlay per method) for up to ``2 * cols`` images, boxes drawn in green."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n = len(images)
    blocks = (n + cols - 1) // cols
    rows_per = 1 + len(maps)
    fig, axes = plt.subplots(blocks * rows_per, min(cols, n), figsize=(1.45 * min(cols, n), 1.5 * blocks * rows_per),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        b, c = divmod(i, cols)
        panels = [("image", images[i])] + [(m, overlay(images[i], heat[i])) for m, heat in maps.items()]
        for r, (label, picture) in enumerate(panels):
            ax = axes[b * rows_per + r, c]
            ax.imshow(picture)
            for bx in boxes[i]:
                ax.add_patch(Rectangle((bx.x - 0.5, bx.y - 0.5), bx.w, bx.h, fill=False, color="lime", lw=1.2))
            ax.set_title(titles[i] if r == 0 else label, fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def format_hits(summary: dict[str, Any]) -> str:
    """The per-group box metrics of a cam run as a markdown table (empty when there were no boxes)."""
    if not summary["hits"]:
        return ""
    columns = " | ".join(f"{m} pointing % | {m} mean IoU | {m} hit % (IoU>=0.1)" for m in summary["methods"])
    lines = [f"| group | image-class pairs | chance pointing % | {columns} |",
             "|---|---|---|" + "---|" * (3 * len(summary["methods"]))]
    first = summary["methods"][0]
    for group, row in summary["hits"][first].items():
        cells = []
        for m in summary["methods"]:
            r = summary["hits"][m][group]
            cells += [f"{r['pointing']:.1f}", f"{r['mean_iou']:.3f}", f"{r['hit_rate']:.1f}"]
        lines.append(f"| {group} | {row['count']} | {row['chance_pointing']:.1f} | " + " | ".join(cells) + " |")
    overall = summary["hits"][first]["all"]
    cells = [c for m in summary["methods"] for c in (f"{summary['hits'][m]['all']['pointing_class_mean']:.1f}", "", "")]
    lines.append(f"| mean over classes | | {overall['chance_pointing_class_mean']:.1f} | " + " | ".join(cells) + " |")
    lines.append(f"\npointing game: hit within {summary['pointing_tolerance']} pixels of the original image")
    return "\n".join(lines)


__all__ = ["CamConfig", "CheckedInputs", "OUTPUTS", "check_inputs", "format_hits", "run_cam"]
