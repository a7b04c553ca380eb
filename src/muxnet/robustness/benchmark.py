"""``muxnet robustness``: top-1/top-5 errors under the 19 corruptions at 5 severities, CE/mCE, pictures.

Three sources of corrupted images:

* the released ImageNet-C tree (``imagenet_c=DIR``): what exists is evaluated, what is missing is listed;
* any evaluation set corrupted on the fly (``data=DIR``, an ImageFolder-style or ImageNet-V2 folder): resized and
  centre-cropped to the model's input, corrupted deterministically, then normalised;
* the embedded default (nothing given): the digits test split, upsampled from 8x8 to the model's 32x32 input
  before corrupting (imagecorruptions needs 32 pixels), evaluated on the embedded default model and on a
  linear (logistic-regression) classifier fitted to the same training split, which plays AlexNet's part as the
  normalising reference: AlexNet's ImageNet errors mean nothing on digits.

The run directory gets ``summary.json`` (every error, the CE table, the reference and its source),
``heatmap.png`` (corruption x severity top-1 error), ``bars.png`` (per-corruption comparison of the models) and
``examples.png`` (one image under each corruption at severity 3). Nothing is overwritten. Each set's errors are
appended to ``progress.jsonl`` as soon as they are measured: the same command run again after a kill resumes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .corruptions import BENCHMARK_CORRUPTIONS, CORRUPTIONS, SEVERITIES, check_corruption
from .datasets import CorruptedImages, digits_test_pixels, image_folder_pixels, normalize_transform
from .metrics import ReferenceErrors, load_reference, summarize

OUTPUTS = ("summary.json", "heatmap.png", "bars.png", "examples.png")
PROGRESS_FILE = "progress.jsonl"
EMBEDDED_IMAGES = 100  # of the 270 digits test images: 95 corrupted sets stay within a few CPU minutes


@torch.no_grad()
def evaluate_models(models: Mapping[str, nn.Module], dataset: Dataset, batch_size: int = 128, workers: int = 0,
                    device: torch.device | str = "cpu") -> dict[str, dict[str, float]]:
    """Top-1/top-5 error (percent) of each model on ``dataset``, reading (and corrupting) each image once."""
    from ..data import collate_skipping_bad

    device = torch.device(device)
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=collate_skipping_bad)
    counts = {name: [0, 0] for name in models}
    seen = 0
    for batch in loader:
        if batch is None:
            continue
        images, targets = batch[0].to(device), batch[1].to(device)
        seen += len(targets)
        for name, model in models.items():
            logits = model(images).float()
            if int(targets.max()) >= logits.shape[1]:
                raise ValueError(f"class index {int(targets.max())} is out of range for {name} "
                                 f"({logits.shape[1]} classes)")
            top = logits.topk(min(5, logits.shape[1]), dim=1).indices.eq(targets[:, None])
            counts[name][0] += int(top[:, 0].sum())
            counts[name][1] += int(top.any(dim=1).sum())
    if seen == 0:
        raise ValueError("the evaluation set yielded no images")
    return {name: {"top1_error": 100.0 * (1 - c1 / seen), "top5_error": 100.0 * (1 - c5 / seen), "count": seen}
            for name, (c1, c5) in counts.items()}


class LinearReference(nn.Module):
    """Logistic regression on the image averaged over channels and pooled to ``grid`` x ``grid`` (8x8: the
    digits' native resolution), so it sees the same inputs as the network."""

    def __init__(self, grid: int, num_classes: int):
        super().__init__()
        self.grid = grid
        self.linear = nn.Linear(grid * grid, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = nn.functional.adaptive_avg_pool2d(x.mean(dim=1, keepdim=True), self.grid)
        return self.linear(pooled.flatten(1))


def fit_linear_reference(train: Dataset, seed: int = 0, grid: int = 8) -> nn.Module:
    """A multinomial logistic regression fitted to the training split: the embedded run's stand-in for
    AlexNet (a weak, fixed baseline trained on the same data)."""
    from sklearn.linear_model import LogisticRegression

    x, y = train.tensors  # type: ignore[attr-defined]
    reference = LinearReference(grid, int(y.max()) + 1)
    with torch.no_grad():
        features = nn.functional.adaptive_avg_pool2d(x.mean(dim=1, keepdim=True), grid).flatten(1).numpy()
    clf = LogisticRegression(max_iter=1000, random_state=seed).fit(features, y.numpy())
    with torch.no_grad():
        reference.linear.weight.copy_(torch.from_numpy(clf.coef_).float())
        reference.linear.bias.copy_(torch.from_numpy(clf.intercept_).float())
    return reference.eval()


def reference_from_run(name: str, clean: Mapping[str, float], errors: Mapping[str, Mapping[int, Mapping[str, float]]],
                       source: str) -> ReferenceErrors:
    """Reference errors measured in this run (complete corruptions only)."""
    def table(key: str) -> dict[str, tuple[float, ...]]:
        return {c: tuple(by[s][key] for s in SEVERITIES) for c, by in errors.items()
                if all(s in by for s in SEVERITIES)}

    return ReferenceErrors(name, source, table("top1_error"), table("top5_error"),
                           {"top1": clean["top1_error"], "top5": clean["top5_error"]})


def _check_outputs(out: Path) -> None:
    taken = [name for name in OUTPUTS if (out / name).exists()]
    if taken:
        raise FileExistsError(f"{out} already holds a robustness run ({', '.join(taken)}); choose another --out")


def run_robustness(model: str | Path | None = None, checkpoint: str | Path | None = None,
                   data: str | Path | None = None, imagenet_c: str | Path | None = None,
                   out: str | Path = "runs/robustness", corruptions: Sequence[str] | None = None,
                   severities: Sequence[int] | None = None, seed: int = 0, max_images: int | None = None,
                   reference: str | Path | None = None, compare: Sequence[str | Path] = (), batch_size: int = 128,
                   workers: int = 0, device: str | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Evaluate a model under corruptions and write the run directory ``out`` (see the module docstring).

    ``model``/``checkpoint``: as :func:`muxnet.train.targets.load_target` (nothing: the embedded default).
    ``reference``: a JSON file of reference errors (default: AlexNet's, or the fitted linear classifier on the
    embedded digits). ``compare``: ``summary.json`` files of earlier runs, drawn beside this one in ``bars.png``.
    """
    from ..train.targets import load_target
    from . import plots

    start = time.time()
    corruptions = tuple(corruptions or CORRUPTIONS)
    severities = tuple(int(s) for s in (severities or SEVERITIES))
    for name in corruptions:
        check_corruption(name, severities[0] if severities else 1)
    for s in severities:
        check_corruption(corruptions[0] if corruptions else CORRUPTIONS[0], s)
    out = Path(out)
    _check_outputs(out)
    earlier = [_read_summary(p) for p in compare]
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    embedded = data is None and imagenet_c is None
    target = load_target(model, checkpoint, log=log)
    cfg = target.model.pretrained_cfg  # type: ignore[attr-defined]
    models: dict[str, nn.Module] = {target.name: target.model.to(dev)}
    missing: list[str] = []
    sets: dict[tuple[str, int], Dataset] = {}

    if embedded:
        if not target.trained_on_digits:
            raise ValueError(f"{target.name} is not a digits run: pass --data or --imagenet-c")
        size = int(target.recipe["data"]["image_size"])
        base, train_split, (mean, std) = digits_test_pixels(size, int(target.recipe["data"].get("seed") or 0),
                                                       EMBEDDED_IMAGES if max_images is None else max_images)
        norm = normalize_transform([mean] * 3, [std] * 3)
        log(f"fitting the linear reference classifier on {len(train_split)} training images")
        models["linear reference"] = fit_linear_reference(train_split, seed).to(dev)
        clean_set: Dataset | None = CorruptedImages(base, None, transform=norm)
        sets = {(c, s): CorruptedImages(base, c, s, seed, norm) for c in corruptions for s in severities}
        described = (f"digits test split, {len(base)} images (of 270), upsampled bilinearly from 8x8 to "
                     f"{size}x{size} before corrupting; corruptions generated on the fly (seed {seed})")
    elif imagenet_c is not None:
        from ..data import ImageFiles
        from ..data.folders import _class_samples
        from ..data.imagenet_c import scan_imagenet_c

        tree = scan_imagenet_c(imagenet_c, corruptions, severities)
        missing = [f"{c}/{s}" for c, s in tree.missing]
        if missing:
            log(f"ImageNet-C at {imagenet_c} lacks {len(missing)} corruption/severity folders: {tree.missing_text()}"
                " (evaluating what exists)")
        norm = normalize_transform(cfg["mean"], cfg["std"])
        crop = _center_crop(cfg)
        # indices follow the sorted class folders of the clean set when given (ImageNet val), else the tree's
        classes = sorted(p.name for p in Path(data).iterdir() if p.is_dir()) if data is not None else tree.classes
        num_classes = target.model.get_classifier().out_features  # type: ignore[union-attr]
        if len(classes) != num_classes:
            raise ValueError(f"ImageNet-C at {imagenet_c} has {len(classes)} class folders but {target.name} has "
                             f"{num_classes} classes: pass --data with the clean set whose folders list all classes")
        from torch.utils.data import Subset

        from .datasets import evenly_spaced

        for key, folder in tree.found.items():
            files = ImageFiles(_class_samples(folder, classes), lambda img, crop=crop: norm(np.array(crop(img))))
            sets[key] = Subset(files, evenly_spaced(len(files), max_images))
        clean_set = None
        if data is not None:
            clean_set = CorruptedImages(image_folder_pixels(data, cfg, max_images, classes), None, transform=norm)
        described = f"released ImageNet-C at {imagenet_c}" + (f", clean images from {data}" if data else "")
    else:
        norm = normalize_transform(cfg["mean"], cfg["std"])
        base = image_folder_pixels(data, cfg, max_images)  # type: ignore[arg-type]
        clean_set = CorruptedImages(base, None, transform=norm)
        sets = {(c, s): CorruptedImages(base, c, s, seed, norm) for c in corruptions for s in severities}
        described = f"{data}, {len(base)} images, corruptions generated on the fly (seed {seed})"

    log(f"evaluating {', '.join(models)} on {described}: {len(sets)} corruption/severity sets")
    progress = _Progress(out / PROGRESS_FILE, {"model": target.name, "checkpoint": target.checkpoint,
                                               "evaluated_on": described, "seed": seed, "max_images": max_images,
                                               "models": list(models)})
    if progress.done:
        log(f"resuming: {len(progress.done)} set(s) already evaluated in {progress.path}")
    results: dict[str, dict[str, Any]] = {name: {"clean": None, "errors": {}} for name in models}
    if clean_set is not None:
        for name, value in progress.evaluate("clean", lambda: evaluate_models(models, clean_set, batch_size, workers,
                                                                               dev)).items():
            results[name]["clean"] = value
        log("clean: " + ", ".join(f"{n} top-1 error {r['clean']['top1_error']:.2f}" for n, r in results.items()))
    for c in corruptions:
        t0 = time.time()
        for s in severities:
            if (c, s) not in sets:
                continue
            measured = progress.evaluate(f"{c}/{s}", lambda key=(c, s): evaluate_models(models, sets[key], batch_size,
                                                                                         workers, dev))
            for name, value in measured.items():
                results[name]["errors"].setdefault(c, {})[s] = value
        if c in results[target.name]["errors"]:
            errs = results[target.name]["errors"][c]
            log(f"{c:<18} top-1 error by severity: " + " ".join(f"{errs[s]['top1_error']:5.1f}" for s in errs)
                + f"  ({time.time() - t0:.1f}s)")

    if embedded and reference is None:
        ref_result = results["linear reference"]
        ref = reference_from_run("linear reference", ref_result["clean"], ref_result["errors"],
                                 "a logistic-regression classifier fitted to the digits training split, "
                                 "evaluated on the same corrupted images in this run")
    else:
        ref = load_reference(reference)
    for r in results.values():
        r["metrics"] = summarize(r["errors"], r["clean"], ref)

    out.mkdir(parents=True, exist_ok=True)
    summary = {
        "model": target.name, "checkpoint": target.checkpoint, "evaluated_on": described, "seed": seed,
        "corruptions": list(corruptions), "severities": list(severities), "missing": missing,
        "reference": {"name": ref.name, "source": ref.source},
        "models": {name: _jsonable(r) for name, r in results.items()},
        "wall_time_s": None,
    }
    plots.heatmap(results[target.name]["errors"], out / "heatmap.png",
                  f"{target.name}: top-1 error (%) under corruption")
    bar_models = {name: r for name, r in summary["models"].items()}
    for other in earlier:
        for name, r in other["models"].items():
            bar_models.setdefault(f"{name} ({other['_path']})", r)
    plots.comparison_bars(bar_models, out / "bars.png", f"per-corruption comparison (CE against {ref.name})")
    _examples(sets, corruptions, out / "examples.png")
    summary["wall_time_s"] = round(time.time() - start, 1)
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2))
    tmp.replace(out / "summary.json")
    return summary


class _Progress:
    """Each evaluated set's errors, appended to ``progress.jsonl`` as soon as it is measured, so that a killed
    run started again with the same arguments skips what is done. The first line records the run's settings;
    a file written with other settings is refused rather than mixed in."""

    def __init__(self, path: Path, settings: dict[str, Any]):
        self.path, self.done = path, {}
        settings = json.loads(json.dumps(settings))
        if path.exists():
            texts, lines = path.read_text().splitlines(), []
            for text in texts:
                try:
                    lines.append(json.loads(text))
                except json.JSONDecodeError:  # the line being written when the run was killed
                    break
            if not lines or lines[0].get("settings") != settings:
                raise ValueError(f"{path} belongs to a run with other settings; choose another --out")
            if len(lines) < len(texts):  # drop the torn line so that new lines start clean
                tmp = path.with_suffix(".tmp")
                tmp.write_text("".join(t + "\n" for t in texts[:len(lines)]))
                tmp.replace(path)
            self.done = {line["set"]: line["results"] for line in lines[1:]}
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"settings": settings}) + "\n")

    def evaluate(self, key: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if key not in self.done:
            self.done[key] = measure()
            with open(self.path, "a") as fh:
                fh.write(json.dumps({"set": key, "results": self.done[key]}) + "\n")
        return self.done[key]


def _center_crop(cfg: Mapping[str, Any]):
    from torchvision import transforms as T

    return T.CenterCrop(int(cfg["input_size"][-1]))


def _examples(sets: Mapping[tuple[str, int], Dataset], corruptions: Sequence[str], path: Path) -> None:
    """One image under each corruption at the middle severity present (pixels before normalisation)."""
    from . import plots

    samples = []
    for c in corruptions:
        keys = sorted(s for (name, s) in sets if name == c)
        if not keys:
            continue
        s = keys[len(keys) // 2]
        dataset = sets[(c, s)]
        if isinstance(dataset, CorruptedImages):
            raw = CorruptedImages(dataset.base, c, s, dataset.seed)[0]
            if raw is not None:
                samples.append((f"{c}\n(severity {s})", raw[0]))
    if samples:
        plots.corruption_grid(samples, path, "examples (first image of the set)")


def _jsonable(result: Mapping[str, Any]) -> dict[str, Any]:
    return {"clean": result["clean"],
            "errors": {c: {str(s): v for s, v in by.items()} for c, by in result["errors"].items()},
            "metrics": result["metrics"]}


def _read_summary(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"--compare {path}: cannot read a robustness summary.json: {err}") from err
    if not isinstance(data, dict) or "models" not in data:
        raise ValueError(f"--compare {path}: not a robustness summary.json (no 'models')")
    data["_path"] = path.parent.name or str(path)
    return data


def format_table(summary: Mapping[str, Any]) -> str:
    """The per-corruption table of a run (errors, CE against the reference) as markdown."""
    lines = []
    names = list(summary["models"])
    header = "| corruption | " + " | ".join(f"{n} top-1 err | {n} CE" for n in names) + " |"
    lines += [header, "|" + "---|" * (1 + 2 * len(names))]
    for c in summary["corruptions"]:
        cells = []
        for n in names:
            row = summary["models"][n]["metrics"]["per_corruption"].get(c, {})
            cells += [_fmt(row.get("top1_error")), _fmt(row.get("ce"))]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    for key, label in (("mce", "mCE (15)"), ("relative_mce", "relative mCE (15)"), ("mce_extra", "mCE (4 extra)"),
                       ("mce_top5", "top-5 mCE (15)"), ("mean_top5_ratio", "top-5 accuracy / reference's")):
        cells = []
        for n in names:
            cells += ["", _fmt(summary["models"][n]["metrics"][key], 3 if "ratio" in key else 1)]
        lines.append(f"| **{label}** | " + " | ".join(cells) + " |")
    clean = [f"{n}: {summary['models'][n]['clean']['top1_error']:.2f}" for n in names
             if summary["models"][n]["clean"]]
    if clean:
        lines.append("")
        lines.append("clean top-1 error: " + ", ".join(clean))
    return "\n".join(lines)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


__all__ = ["BENCHMARK_CORRUPTIONS", "LinearReference", "evaluate_models", "fit_linear_reference", "format_table",
           "run_robustness"]
