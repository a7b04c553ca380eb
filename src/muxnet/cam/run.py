"""``muxnet cam``: class activation maps written as overlays, and how often they hit ground-truth boxes.

* image files (``images``): each resized (whole, no crop) to the model's input and drawn with its CAM and/or
  Grad-CAM for the given class, or the predicted one;
* ChestX-Ray14 (``chestxray=ROOT``): every image of ``BBox_List_2017.csv`` found under the root, with the map
  of its boxed finding and the box drawn over it; per finding, the pointing-game accuracy, mean IoU and hit rate
  of the thresholded map (:mod:`muxnet.cam.boxes`);
* the embedded default (nothing given): digits test images at the model's 32x32 (upsampled from 8x8, as in
  training), the map of the true class, and the box around each digit's ink; the same hit metrics are reported
  per digit class. (:func:`digit_scenes` can paste digits on a larger blank canvas, but the default model does
  not carry over: 11% top-1 on 64x64 canvases, 63% with 28-pixel digits on 32x32, so maps of its mistakes
  would say little.)

Writes ``summary.json`` and the pictures into ``out``; nothing already there is overwritten.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .boxes import Box, aggregate, box_scores, read_bbox_list
from .maps import METHODS, activation_maps, check_classes, overlay


def _methods(method: str) -> tuple[str, ...]:
    if method == "both":
        return METHODS
    if method not in METHODS:
        raise ValueError(f"method must be cam, gradcam or both, got {method!r}")
    return (method,)


def read_image(path: str | Path, size: tuple[int, int], bicubic: bool = True) -> tuple[np.ndarray, tuple[int, int]]:
    """``path`` as H x W x 3 uint8 at ``size`` (height, width), and its original (width, height)."""
    from PIL import Image

    path = Path(path)
    try:
        with Image.open(path) as img:
            rgb = img.convert("RGB")
    except Exception as err:  # PIL raises many kinds
        raise ValueError(f"cannot read image {path}: {type(err).__name__}: {err}") from err
    resample = Image.BICUBIC if bicubic else Image.BILINEAR
    return np.asarray(rgb.resize((size[1], size[0]), resample)), rgb.size


def digit_scenes(image_size: int, count: int, seed: int = 0, canvas: int | None = None
                 ) -> tuple[np.ndarray, list[int], list[Box], tuple[float, float]]:
    """``count`` digits test images pasted at seeded random places on blank ``canvas`` x ``canvas`` scenes (by
    default the digit's own size: the images themselves): uint8 images, labels, the box around each digit's ink
    (pixels above a quarter of its maximum), and the (mean, std) of the model's inputs."""
    from ..robustness.datasets import digits_test_pixels

    canvas = canvas or image_size
    if canvas < image_size:
        raise ValueError(f"the scene ({canvas}) must be at least the digit size ({image_size})")
    pixels, _, norm = digits_test_pixels(image_size, seed, count)
    rng = np.random.default_rng(seed)
    scenes = np.zeros((len(pixels), canvas, canvas, 3), dtype=np.uint8)
    boxes, labels = [], []
    for i in range(len(pixels)):
        digit, label = pixels[i]
        top, left = (int(v) for v in rng.integers(0, canvas - image_size + 1, size=2))
        scenes[i, top:top + image_size, left:left + image_size] = digit
        ink = digit[..., 0] >= 0.25 * max(1, int(digit.max()))
        ys, xs = np.nonzero(ink)
        boxes.append(Box(left + xs.min(), top + ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1))
        labels.append(int(label))
    return scenes, labels, boxes, norm


def _to_tensor(images: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    return (x - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]


def _grid(images: np.ndarray, maps: dict[str, np.ndarray], titles: Sequence[str], boxes: Sequence[Box | None],
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
            if boxes[i] is not None:
                bx = boxes[i]
                ax.add_patch(Rectangle((bx.x - 0.5, bx.y - 0.5), bx.w, bx.h, fill=False, color="lime", lw=1.2))
            ax.set_title(titles[i] if r == 0 else label, fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _normalisation(target, cfg) -> tuple[Sequence[float], Sequence[float]]:
    """The input standardisation the model was trained with: the digits' own for a digits run, else its config's."""
    if target.trained_on_digits:
        from ..data.digits import digits_pixels, digits_standardisation

        x, _, splits = digits_pixels(int(target.recipe["data"]["image_size"]), 3,
                                     int(target.recipe["data"].get("seed") or 0))
        mean, std = digits_standardisation(x, splits["train"])
        return [mean] * 3, [std] * 3
    return cfg["mean"], cfg["std"]


def _check_outputs(out: Path) -> None:
    if (out / "summary.json").exists():
        raise FileExistsError(f"{out} already holds a cam run (summary.json); choose another --out")


def run_cam(model: str | Path | None = None, checkpoint: str | Path | None = None, images: Sequence[str] = (),
            out: str | Path = "runs/cam", method: str = "both", classes: Sequence[int] | None = None,
            chestxray: str | Path | None = None, boxes: str | Path | None = None, threshold: float = 0.5,
            max_images: int | None = None, device: str | None = None, seed: int = 0,
            log: Callable[[str], None] = print) -> dict[str, Any]:
    """Draw class activation maps (see the module docstring) and return the run's summary."""
    from ..train.targets import load_target

    start = time.time()
    methods = _methods(method)
    out = Path(out)
    _check_outputs(out)
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if images and chestxray:
        raise ValueError("give either image files or --chestxray, not both")
    target = load_target(model, checkpoint, log=log)
    net = target.model.to(device or "cpu")
    cfg = net.pretrained_cfg  # type: ignore[attr-defined]
    dev = next(net.parameters()).device
    size = tuple(int(v) for v in cfg["input_size"][-2:])
    bicubic = cfg.get("interpolation") == "bicubic"
    groups: list[str] = []
    record_boxes: list[Box | None] = []

    if images:
        arrays = [read_image(p, size, bicubic)[0] for p in images[:max_images]]
        pixels = np.stack(arrays)
        mean, std = _normalisation(target, cfg)
        truth: list[int] | None = None
        names = [Path(p).name for p in images[:max_images]]
        record_boxes = [None] * len(pixels)
        described = f"{len(pixels)} image file(s) at {size[0]}x{size[1]}"
    elif chestxray:
        from ..data import CHESTXRAY_LABELS

        root = Path(chestxray)
        if not root.is_dir():
            raise FileNotFoundError(f"no ChestX-Ray14 directory at {root}")
        records = read_bbox_list(boxes or root / "BBox_List_2017.csv")
        found = {p.name: p for p in root.rglob("*.png")}
        unknown = sorted({r.finding for r in records} - set(CHESTXRAY_LABELS))
        if unknown:
            raise ValueError(f"box list has findings outside ChestX-Ray14's labels: {unknown}")
        present = [r for r in records if r.image in found][:max_images]
        if not present:
            raise ValueError(f"none of the {len(records)} boxed images were found under {root}")
        log(f"{len(present)} of {len(records)} boxed images found under {root}")
        arrays, record_boxes = [], []
        for r in present:
            pixels_i, (w0, h0) = read_image(found[r.image], size, bicubic)
            arrays.append(pixels_i)
            record_boxes.append(r.box.scaled(size[1] / w0, size[0] / h0))
        pixels = np.stack(arrays)
        mean, std = cfg["mean"], cfg["std"]
        truth = [CHESTXRAY_LABELS.index(r.finding) for r in present]
        groups = [r.finding for r in present]
        names = [r.image for r in present]
        described = f"ChestX-Ray14 boxed images under {root}, resized to {size[0]}x{size[1]}"
    else:
        if not target.trained_on_digits:
            raise ValueError(f"{target.name} is not a digits run: pass image files or --chestxray")
        digit_size = int(target.recipe["data"]["image_size"])
        pixels, truth, scene_boxes, (m, s) = digit_scenes(digit_size, max_images or 32, seed)
        mean, std = [m] * 3, [s] * 3
        record_boxes = list(scene_boxes)
        groups = [f"class {t}" for t in truth]
        names = [f"digit {i}" for i in range(len(pixels))]
        described = (f"{len(pixels)} digits test images at {digit_size}x{digit_size} (upsampled from 8x8), "
                     "boxes around their ink")

    x = _to_tensor(pixels, mean, std).to(dev)
    with torch.no_grad():
        predicted = net(x).argmax(dim=1).tolist()
    chosen = list(classes) if classes else (truth if truth is not None else predicted)
    if len(chosen) == 1 and len(pixels) > 1:
        chosen = chosen * len(pixels)
    if len(chosen) != len(pixels):
        raise ValueError(f"--classes gives {len(chosen)} class indices for {len(pixels)} images")
    check_classes(net, chosen)
    log(f"{', '.join(methods)} of {target.name} on {described}")
    maps = {m: activation_maps(net, x, chosen, m) for m in methods}

    out.mkdir(parents=True, exist_ok=True)
    pictures = []
    titles = [f"{n}\nclass {c} / pred {p}" for n, c, p in zip(names, chosen, predicted)]
    for start_i in range(0, len(pixels), 16):
        part = slice(start_i, start_i + 16)
        path = out / f"cam_{start_i // 16:03d}.png"
        _grid(pixels[part], {m: v[part] for m, v in maps.items()}, titles[part], record_boxes[part], path,
              f"{target.name}: {' and '.join(methods)} (boxes: ground truth)")
        pictures.append(path.name)
    per_image = []
    hits: dict[str, Any] = {}
    for i in range(len(pixels)):
        entry: dict[str, Any] = {"name": names[i], "class": int(chosen[i]), "predicted": int(predicted[i])}
        if record_boxes[i] is not None:
            entry["scores"] = {m: box_scores(maps[m][i], record_boxes[i], threshold) for m in methods}
        per_image.append(entry)
    if any(b is not None for b in record_boxes):
        hits = {m: aggregate((groups[i], per_image[i]["scores"][m]) for i in range(len(pixels))) for m in methods}
    summary = {
        "model": target.name, "checkpoint": target.checkpoint, "evaluated_on": described, "methods": list(methods),
        "threshold": threshold, "hit_iou": 0.1, "pictures": pictures, "hits": hits,
        "accuracy": (100.0 * float(np.mean([p == t for p, t in zip(predicted, truth)])) if truth else None),
        "images": per_image, "wall_time_s": round(time.time() - start, 1),
    }
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, default=lambda v: bool(v) if isinstance(v, np.bool_) else float(v)))
    tmp.replace(out / "summary.json")
    return summary


def format_hits(summary: dict[str, Any]) -> str:
    """The per-group box metrics of a cam run as a markdown table (empty when there were no boxes)."""
    if not summary["hits"]:
        return ""
    columns = " | ".join(f"{m} pointing % | {m} mean IoU | {m} hit % (IoU>=0.1)" for m in summary["methods"])
    lines = [f"| group | images | chance pointing % | {columns} |",
             "|---|---|---|" + "---|" * (3 * len(summary["methods"]))]
    first = summary["methods"][0]
    for group, row in summary["hits"][first].items():
        cells = []
        for m in summary["methods"]:
            r = summary["hits"][m][group]
            cells += [f"{r['pointing']:.1f}", f"{r['mean_iou']:.3f}", f"{r['hit_rate']:.1f}"]
        lines.append(f"| {group} | {row['count']} | {row['chance_pointing']:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


__all__ = ["digit_scenes", "format_hits", "read_image", "run_cam"]
