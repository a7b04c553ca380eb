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

A run is described by a :class:`RobustnessConfig`; everything it names is checked before the model is loaded (the
embedded default is trained on first use, which takes minutes), so a wrong name or an empty folder fails at once.
The sources of images live in :mod:`muxnet.robustness.evaluation_sets`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..data.imagenet_c import ImageNetCTree, scan_imagenet_c
from ..runtime import atomic_write, optional_path, refuse_existing_run, resolve_device
from .corruptions import BENCHMARK_CORRUPTIONS, CORRUPTIONS, SEVERITIES, check_corruption
from .evaluation_sets import EvaluationSets, digits_sets, image_folder_sets, imagenet_c_sets
from .metrics import ReferenceErrors, load_reference, reference_gaps, summarize
from .pixel_datasets import CorruptedImages

OUTPUTS = ("summary.json", "heatmap.png", "bars.png", "examples.png")
PROGRESS_FILE = "progress.jsonl"


@dataclass(frozen=True)
class RobustnessConfig:
    """Everything a robustness run depends on (see the module docstring for the three sources of images).

    The values are checked when the config is built (an unknown corruption, a severity outside 1-5, a
    non-positive count); the paths when the run starts, by :func:`check_inputs`, before any model is loaded or
    trained. ``model``/``checkpoint``: as :func:`muxnet.train.targets.load_target` (nothing: the embedded
    default). ``reference``: a JSON file of reference errors (default: AlexNet's, or the fitted linear
    classifier on the embedded digits). ``compare``: ``summary.json`` files of earlier runs, drawn beside this
    one in ``bars.png``. ``corruptions``/``severities``: empty or ``None`` means all of them.
    """

    model: str | Path | None = None
    checkpoint: str | Path | None = None
    data: str | Path | None = None
    imagenet_c: str | Path | None = None
    output: str | Path = "runs/robustness"
    corruptions: Sequence[str] | None = CORRUPTIONS
    severities: Sequence[int] | None = SEVERITIES
    seed: int = 0
    max_images: int | None = None
    reference: str | Path | None = None
    compare: Sequence[str | Path] = ()
    batch_size: int = 128
    workers: int = 0
    device: str | None = None

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name in ("checkpoint", "data", "imagenet_c", "reference"):
            put(name, optional_path(getattr(self, name)))
        put("output", Path(self.output))
        put("compare", tuple(Path(p) for p in self.compare or ()))
        if isinstance(self.corruptions, str):
            raise ValueError(f"corruptions: expected a list of names, got the string {self.corruptions!r}")
        put("corruptions", tuple(self.corruptions or CORRUPTIONS))
        try:
            put("severities", tuple(int(s) for s in (self.severities or SEVERITIES)))
        except (TypeError, ValueError):
            raise ValueError(f"severities: expected integers 1-5, got {self.severities!r}") from None
        for name in self.corruptions:
            check_corruption(name, SEVERITIES[0])
        for severity in self.severities:
            check_corruption(CORRUPTIONS[0], severity)
        for name, value, least in (("max_images", self.max_images, 1), ("batch_size", self.batch_size, 1),
                                   ("workers", self.workers, 0)):
            if value is not None and (not isinstance(value, int) or value < least):
                raise ValueError(f"{name}: must be an integer >= {least}, got {value!r}")

    @property
    def embedded(self) -> bool:
        """Whether the run uses the embedded digits (no data given)."""
        return self.data is None and self.imagenet_c is None


@dataclass
class CheckedInputs:
    """What :func:`check_inputs` found: the scanned ImageNet-C tree, the reference (``None``: measured in this
    run), the earlier summaries to compare with, and the device."""

    tree: ImageNetCTree | None
    reference: ReferenceErrors | None
    earlier: list[dict[str, Any]]
    device: torch.device


def check_inputs(config: RobustnessConfig) -> CheckedInputs:
    """Every path and device of ``config``, checked before any work: the output directory is free, the data
    folders exist, the ImageNet-C tree holds corruptions, the reference and the summaries to compare read."""
    from ..train.targets import check_target

    refuse_existing_run(config.output, OUTPUTS, "a robustness run")
    device = resolve_device(config.device)
    check_target(config.model, config.checkpoint, digits_data=config.embedded, other_data="--data or --imagenet-c")
    if config.data is not None and not config.data.is_dir():
        raise FileNotFoundError(f"no image directory at {config.data}")
    tree = None
    if config.imagenet_c is not None:
        tree = scan_imagenet_c(config.imagenet_c, config.corruptions, config.severities)
    reference = None if config.embedded and config.reference is None else load_reference(config.reference)
    earlier = [_read_summary(p) for p in config.compare]
    return CheckedInputs(tree, reference, earlier, device)


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


def reference_from_run(name: str, clean: Mapping[str, float], errors: Mapping[str, Mapping[int, Mapping[str, float]]],
                       source: str) -> ReferenceErrors:
    """Reference errors measured in this run (complete corruptions only)."""
    def table(key: str) -> dict[str, tuple[float, ...]]:
        return {c: tuple(by[s][key] for s in SEVERITIES) for c, by in errors.items()
                if all(s in by for s in SEVERITIES)}

    return ReferenceErrors(name, source, table("top1_error"), table("top5_error"),
                           {"top1": clean["top1_error"], "top5": clean["top5_error"]})


def run_robustness(config: RobustnessConfig | None = None, /, *, log: Callable[[str], None] = print,
                   **settings: Any) -> dict[str, Any]:
    """Evaluate a model under corruptions and write the run directory ``config.output`` (see the module docstring).

    ``settings``: the fields of :class:`RobustnessConfig` as keywords, for a caller that does not build one.
    """
    from ..train.targets import start_analysis

    config, inputs, target, start = start_analysis(RobustnessConfig, config, settings, "run_robustness",
                                                   check_inputs, log)
    source = _evaluation_sets(config, target, inputs, log)
    models: dict[str, nn.Module] = {target.name: target.model.to(inputs.device),
                                    **{name: m.to(inputs.device) for name, m in source.extra_models.items()}}
    log(f"evaluating {', '.join(models)} on {source.described}: {len(source.sets)} corruption/severity sets")
    results = _evaluate(config, target, models, source, inputs.device, log)
    reference = inputs.reference
    if reference is None:
        name = source.reference_model
        if name is None:  # cannot happen: every source without a reference file measures one
            raise RuntimeError("no reference to normalise the corruption errors with")
        reference = reference_from_run(name, results[name]["clean"], results[name]["errors"],
                                       "a logistic-regression classifier fitted to the digits training split, "
                                       "evaluated on the same corrupted images in this run")
    for r in results.values():
        r["metrics"] = summarize(r["errors"], r["clean"], reference)
    return _write_outputs(config, target.name, target.checkpoint, source, results, reference, inputs.earlier,
                          start)


def _evaluation_sets(config: RobustnessConfig, target, inputs: CheckedInputs,
                     log: Callable[[str], None]) -> EvaluationSets:
    if config.imagenet_c is not None:
        return imagenet_c_sets(target, inputs.tree, config.data, config.max_images, log)
    if config.data is not None:
        return image_folder_sets(target, config.data, config.corruptions, config.severities, config.seed,
                                 config.max_images)
    return digits_sets(target, config.corruptions, config.severities, config.seed, config.max_images, log)


def _evaluate(config: RobustnessConfig, target, models: Mapping[str, nn.Module], source: EvaluationSets,
              device: torch.device, log: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """Clean and corrupted errors of every model, each set read from ``progress.jsonl`` when a killed run
    already measured it."""
    progress = _Progress(config.output / PROGRESS_FILE,
                         {"model": target.name, "checkpoint": target.checkpoint, "evaluated_on": source.described,
                          "seed": config.seed, "max_images": config.max_images, "models": list(models)})
    if progress.done:
        log(f"resuming: {len(progress.done)} set(s) already evaluated in {progress.path}")

    def measure(dataset: Dataset) -> Callable[[], dict[str, Any]]:
        return lambda: evaluate_models(models, dataset, config.batch_size, config.workers, device)

    results: dict[str, dict[str, Any]] = {name: {"clean": None, "errors": {}} for name in models}
    if source.clean is not None:
        for name, value in progress.evaluate("clean", measure(source.clean)).items():
            results[name]["clean"] = value
        log("clean: " + ", ".join(f"{n} top-1 error {r['clean']['top1_error']:.2f}" for n, r in results.items()))
    for c in config.corruptions:
        t0 = time.time()
        for s in config.severities:
            if (c, s) in source.sets:
                for name, value in progress.evaluate(f"{c}/{s}", measure(source.sets[(c, s)])).items():
                    results[name]["errors"].setdefault(c, {})[s] = value
        if c in results[target.name]["errors"]:
            errs = results[target.name]["errors"][c]
            log(f"{c:<18} top-1 error by severity: " + " ".join(f"{errs[s]['top1_error']:5.1f}" for s in errs)
                + f"  ({time.time() - t0:.1f}s)")
    return results


def _write_outputs(config: RobustnessConfig, name: str, checkpoint: str | None, source: EvaluationSets,
                   results: Mapping[str, dict[str, Any]], reference: ReferenceErrors,
                   earlier: Sequence[Mapping[str, Any]], start: float) -> dict[str, Any]:
    """The pictures, then ``summary.json`` last (atomically): a run directory with a summary is complete."""
    from . import plots

    out = config.output
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        "model": name, "checkpoint": checkpoint, "evaluated_on": source.described, "seed": config.seed,
        "corruptions": list(config.corruptions), "severities": list(config.severities), "missing": source.missing,
        "reference": {"name": reference.name, "source": reference.source,
                      "missing": reference_gaps(reference, [c for c, row in
                                                            results[name]["metrics"]["per_corruption"].items()
                                                            if row["complete"]])},
        "models": {n: _jsonable(r) for n, r in results.items()},
        "wall_time_s": None,
    }
    plots.heatmap(results[name]["errors"], out / "heatmap.png", f"{name}: top-1 error (%) under corruption")
    bar_models = dict(summary["models"])
    for other in earlier:
        for other_name, r in other["models"].items():
            bar_models.setdefault(f"{other_name} ({other['_path']})", r)
    plots.comparison_bars(bar_models, out / "bars.png", f"per-corruption comparison (CE against {reference.name})")
    _examples(source.sets, config.corruptions, out / "examples.png")
    summary["wall_time_s"] = round(time.time() - start, 1)
    atomic_write(out / "summary.json", json.dumps(summary, indent=2))
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
                raise ValueError(f"{path} belongs to a run with other settings; choose another --output")
            if len(lines) < len(texts):  # drop the torn line so that new lines start clean
                atomic_write(path, "".join(t + "\n" for t in texts[:len(lines)]))
            self.done = {line["set"]: line["results"] for line in lines[1:]}
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, json.dumps({"settings": settings}) + "\n")  # a torn first line would refuse the resume

    def evaluate(self, key: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if key not in self.done:
            self.done[key] = measure()
            with open(self.path, "a") as fh:
                fh.write(json.dumps({"set": key, "results": self.done[key]}) + "\n")
        return self.done[key]


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
    gaps = summary.get("reference", {}).get("missing", {})
    if gaps:
        lines.append("")
        lines += [f"n/a ({topic}): {why}" for topic, why in gaps.items()]
    return "\n".join(lines)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


__all__ = ["BENCHMARK_CORRUPTIONS", "OUTPUTS", "PROGRESS_FILE", "CheckedInputs", "RobustnessConfig", "check_inputs",
           "evaluate_models", "format_table", "run_robustness"]
