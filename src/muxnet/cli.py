"""The ``muxnet`` command: thin argument parsing over the library; every subcommand calls one function."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .runtime.arguments import (
    add_alias,
    add_resume,
    existing_dir,
    existing_file,
    non_negative_int,
    positive_float,
    positive_int,
    settle_resume,
)


def _parse_input_size(text: str) -> tuple[int, int, int]:
    parts = text.replace("x", ",").split(",")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"input size must look like 3,224,224 or 224, got {text!r}") from None
    if len(values) == 1:
        values = (3, values[0], values[0])
    if len(values) != 3 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"input size must be C,H,W with positive values, got {text!r}")
    return values  # type: ignore[return-value]


class _CommandParser(argparse.ArgumentParser):
    """A subcommand's parser: ``--debug`` is also accepted after the subcommand (``muxnet train --debug``), where a
    user re-running a failed command line adds it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # unset unless given, so the subcommand does not reset a --debug given before it
        self.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                          help="show the full traceback of an error instead of one line")


def _add_metrics_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", metavar="FILE", help="also write the metrics as JSON to FILE (never overwritten)")


def _write_metrics(path: str | None, result: dict) -> None:
    import json

    from .runtime import atomic_write

    if path:
        atomic_write(path, json.dumps(result, indent=2) + "\n")


def cmd_profile(args: argparse.Namespace) -> int:
    from .profiling import family_table, profile_table
    from .runtime import atomic_write, check_writable

    if args.output:
        check_writable(args.output)
    if args.family:
        table = family_table(args.family, input_size=args.input_size, num_classes=args.num_classes)
    else:
        table = profile_table(args.models, input_size=args.input_size, num_classes=args.num_classes,
                              layers=args.layers)
    print(table)
    if args.output:
        atomic_write(args.output, table + "\n")
    return 0


# command-line flags that are shorthands for recipe keys (everything else: --set section.key=value)
TRAIN_FLAGS = (("model", "model.name"), ("pretrained", "model.pretrained"), ("epochs", "schedule.epochs"),
               ("batch_size", "data.batch_size"), ("lr", "optimizer.lr"), ("image_size", "data.image_size"),
               ("workers", "data.workers"), ("output", "output.dir"), ("seed", "training.seed"),
               ("device", "training.device"), ("threads", "training.threads"), ("difficulty", "data.difficulty"))
TRAIN_SWITCHES = (("skip_bad_images", "data.skip_bad_images"), ("channels_last", "training.channels_last"),
                  ("tensorboard", "output.tensorboard"))


def _recipe_overrides(args: argparse.Namespace) -> list:
    pairs: list = [(key, getattr(args, dest)) for dest, key in TRAIN_FLAGS
                   if getattr(args, dest, None) is not None]
    pairs += [(key, True) for dest, key in TRAIN_SWITCHES if getattr(args, dest, False)]
    if getattr(args, "no_progress", False):
        pairs.append(("output.progress", False))
    return [*pairs, *args.set]


def _print_run(summary: dict | None, key: str) -> None:
    """A finished run's last lines; under ``torchrun`` only the main process (rank 0) prints them."""
    import os

    if os.environ.get("RANK", "0") != "0" or not summary:
        return
    best = summary["best"] or {}
    for split in ("val", "test"):
        if best.get(split):
            print(f"best {split} {key}: {best[split][key]:.2f} (epoch {best['epoch']})")
    print(f"wrote {summary['run_dir']}/summary.json ({summary['wall_time_s']:.0f}s)")


def cmd_train(args: argparse.Namespace) -> int:
    from .train import build_recipe, train

    recipe = build_recipe(args.recipe, args.data, args.dataset, args.resume, _recipe_overrides(args))
    summary = train(recipe, resume=args.resume is not None)
    _print_run(summary, "auroc" if summary and summary["multi_label"] else "top1")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import json

    from .runtime import check_writable
    from .train import evaluate_target

    if args.output:
        check_writable(args.output)
    if args.reference_data:
        from .robustness.generalisation import evaluate_with_reference

        result = evaluate_with_reference(args.target, args.checkpoint, args.data, args.reference_data, args.dataset,
                                         args.recipe, _recipe_overrides(args))
    else:
        result = evaluate_target(args.target, args.checkpoint, args.data, args.dataset, args.recipe, args.split,
                                 _recipe_overrides(args))
    _write_metrics(args.output, result)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        keys = ("auroc",) if "auroc" in result else ("top1", "top5")
        metrics = ", ".join(f"{k} {result[k]:.2f}" for k in keys)
        print(f"{result['model']} on {result['dataset']} {result['split']} ({result['count']} images): {metrics}")
        for name, value in (result.get("auroc_per_class") or {}).items():
            print(f"  {name:<20} {value:.2f}")
        if "reference" in result:
            ref = result["reference"]
            print(f"{ref['model']} on {ref['dataset']} {ref['split']} ({ref['count']} images): "
                  + ", ".join(f"{k} {ref[k]:.2f}" for k in keys))
            print("drop: " + ", ".join(f"{k} {result[k + '_drop']:.2f} points" for k in keys if k + "_drop" in result))
    return 0


def _add_recipe_arguments(p: argparse.ArgumentParser) -> None:
    from .data.cluttered import DIFFICULTIES

    p.add_argument("--recipe", help="shipped recipe (cluttered, digits, imagenet, transfer, chestxray) or a recipe "
                   ".yaml; default: follows the data (none: cluttered)")
    p.add_argument("--data", metavar="DIR", type=existing_dir, help="data directory: ImageFolder (train/, val/), "
                   "CIFAR-10/100 pickles, or ChestX-Ray14; default: the embedded cluttered digits")
    p.add_argument("--dataset", choices=("cluttered", "digits", "imagefolder", "cifar10", "cifar100", "chestxray",
                                         "imagenetv2"),
                   help="data layout (default: detected from --data); the embedded 'cluttered' (the default) and "
                   "'digits' need no --data")
    p.add_argument("--difficulty", choices=tuple(DIFFICULTIES),
                   help="the embedded cluttered digits' composition (data.difficulty; default: standard)")
    p.add_argument("--image-size", type=positive_int)
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--workers", type=non_negative_int,
                   help="data loading processes (default: the cores available, at most 8)")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument("--threads", type=positive_int, help="CPU threads for torch")
    p.add_argument("--skip-bad-images", action="store_true",
                   help="skip unreadable images (listed in the run's bad_images.txt) instead of stopping")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any recipe key, e.g. --set optimizer.lr=0.01 --set training.ema_decay=null")


def cmd_export(args: argparse.Namespace) -> int:
    import warnings

    from .deploy.export import export_model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        path = export_model(args.model, args.output, args.format, checkpoint=args.checkpoint,
                            input_size=args.input_size, fuse=args.fuse, num_classes=args.num_classes,
                            overwrite=args.overwrite)
    for warning in caught:
        if "random initial weights" in str(warning.message):
            print(f"muxnet export: warning: {warning.message}", file=sys.stderr)
    print(f"wrote {path}")
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    from .deploy.latency_benchmark import (
        benchmark,
        build_model,
        format_op_times,
        format_table,
        onnxruntime_op_times,
        plot,
    )
    from .runtime import check_writable

    if args.ops:
        from .deploy import deploy

        models = {name: deploy(build_model(name)) for name in args.models}
        print(format_op_times(onnxruntime_op_times(models, input_size=args.input_size, repeats=args.repeats,
                                                   threads=args.threads)))
        return 0
    if args.output:
        check_writable(args.output, args.overwrite)
    results = benchmark(args.models, args.paths, input_size=args.input_size, batch_size=args.batch_size,
                        repeats=args.repeats, threads=args.threads,
                        log=lambda line: print(line, file=sys.stderr, flush=True))
    print(format_table(results, args.baseline))
    if args.output:
        print(f"wrote {plot(results, args.output)}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from .search.cli import search_from_args

    return search_from_args(args)


def cmd_ablate(args: argparse.Namespace) -> int:
    from .ablation.cli import ablate_from_args

    return ablate_from_args(args)


def _task(command: str):
    if command == "detect":
        from .detection.task import DetectionTask

        return DetectionTask()
    from .segmentation.task import SegmentationTask

    return SegmentationTask()


def cmd_task_train(args: argparse.Namespace) -> int:
    from .train.tasks import task_recipe, train_task

    task = _task(args.command)
    recipe = task_recipe(task, args.recipe, args.data, args.dataset, args.resume, _recipe_overrides(args))
    _print_run(train_task(task, recipe, resume=args.resume is not None), task.primary)
    return 0


def cmd_task_eval(args: argparse.Namespace) -> int:
    import json

    from .runtime import check_writable
    from .train.tasks import evaluate_run

    if args.output:
        check_writable(args.output)
    task = _task(args.command)
    overrides = [*([("training.device", args.device)] if args.device else []), *args.set]
    result = evaluate_run(task, args.run_dir, args.checkpoint, args.data, args.dataset, overrides)
    _write_metrics(args.output, result)
    if args.json:
        print(json.dumps(result, indent=2))
    elif task.kind == "detect":
        print(f"{result['model']} on {result['dataset']} test ({result['count']} images): VOC07 mAP@0.5 "
              f"{result['voc07_map']:.2f}, COCO mAP {result['coco_map']:.2f}, COCO mAP@0.5 {result['coco_map_50']:.2f}")
    else:
        print(f"{result['model']} on {result['dataset']} validation ({result['count']} images): mIoU "
              f"{result['miou']:.2f}, pixel accuracy {result['pixel_accuracy']:.2f}")
    return 0


def cmd_task_predict(args: argparse.Namespace) -> int:
    if args.command == "detect":
        from .detection.task import predict

        written = predict(args.run_dir, args.images, args.output, args.checkpoint, args.score_thresh)
    else:
        from .segmentation.task import predict

        written = predict(args.run_dir, args.images, args.output, args.checkpoint)
    print(f"wrote {len(written)} image(s) to {args.output}")
    return 0


def _add_task_parser(sub, command: str, what: str, layout: str, default: str) -> None:
    p = sub.add_parser(command, help=what)
    actions = p.add_subparsers(dest="action", required=True)
    t = actions.add_parser("train", help=f"train (no arguments: {default})")
    t.add_argument("--recipe", help="shipped recipe name or a recipe .yaml (default: follows the data)")
    t.add_argument("--data", metavar="DIR", type=existing_dir,
                   help=f"directory in the {layout} layout (default: the embedded digit scenes)")
    example = "ssdlite_muxnet_m" if command == "detect" else "ppm_muxnet_m"
    t.add_argument("--model", help=f"model name, e.g. {example}")
    for flag, kind in (("--epochs", positive_int), ("--batch-size", positive_int), ("--lr", positive_float),
                       ("--image-size", positive_int), ("--workers", non_negative_int), ("--seed", int),
                       ("--threads", positive_int)):
        t.add_argument(flag, type=kind)
    t.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    t.add_argument("--output", metavar="DIR", help="run directory (default: runs/<recipe>-<model>)")
    add_resume(t)
    t.add_argument("--skip-bad-images", action="store_true",
                   help="leave out bad images/annotations (counted, listed in bad_images.txt) instead of stopping")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any recipe key")
    t.set_defaults(func=cmd_task_train, dataset=None)
    e = actions.add_parser("eval", help="test metrics of a trained run")
    e.add_argument("run_dir", metavar="RUN_DIR", type=existing_dir)
    e.add_argument("--checkpoint", type=existing_file, help="weights file (default: RUN_DIR/best.safetensors)")
    e.add_argument("--data", metavar="DIR", type=existing_dir,
                   help=f"evaluate on this {layout} directory instead of the run's data")
    e.add_argument("--json", action="store_true", help="print all metrics as JSON")
    e.add_argument("--device", help="cpu, cuda or cuda:N (default: the run's)")
    _add_metrics_output(e)
    e.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any recipe key")
    e.set_defaults(func=cmd_task_eval, dataset=None)
    r = actions.add_parser("predict", help="write images with the predictions drawn" if command == "detect"
                           else "write images beside their colour-coded predicted masks")
    r.add_argument("run_dir", metavar="RUN_DIR", type=existing_dir)
    r.add_argument("images", nargs="*", type=existing_file,
                   help="image files (default: the first 8 test images of the run's data)")
    r.add_argument("--output", default="detections" if command == "detect" else "masks", metavar="DIR",
                   help="output directory")
    r.add_argument("--checkpoint", type=existing_file, help="weights file (default: RUN_DIR/best.safetensors)")
    if command == "detect":
        r.add_argument("--score-thresh", type=float, default=0.3, help="draw boxes scoring at least this")
    r.set_defaults(func=cmd_task_predict)


def cmd_robustness(args: argparse.Namespace) -> int:
    from .robustness import RobustnessConfig, format_table, run_robustness

    config = RobustnessConfig(
        model=args.model, checkpoint=args.checkpoint, data=args.data, imagenet_c=args.imagenet_c, output=args.output,
        corruptions=args.corruptions, severities=args.severities, seed=args.seed, max_images=args.max_images,
        reference=args.reference, compare=args.compare, batch_size=args.batch_size, workers=args.workers,
        device=args.device)
    summary = run_robustness(config)
    print(format_table(summary))
    print(f"wrote {config.output}/summary.json, heatmap.png, bars.png ({summary['wall_time_s']:.0f}s)")
    return 0


def cmd_cam(args: argparse.Namespace) -> int:
    from .cam import CamConfig, format_hits, run_cam

    config = CamConfig(model=args.model, checkpoint=args.checkpoint, images=args.images, output=args.output,
                       method=args.method, classes=args.classes, chestxray=args.data, boxes=args.boxes,
                       threshold=args.threshold, tolerance=args.tolerance, max_images=args.max_images,
                       device=args.device)
    summary = run_cam(config)
    print(format_hits(summary))
    print(f"wrote {config.output}/summary.json and {len(summary['pictures'])} picture(s)")
    return 0


def _list_of(kind):
    def parse(text: str):
        try:
            return [kind(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}") from None
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="muxnet", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error instead of one "
                        "line (also: MUXNET_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_CommandParser)

    p = sub.add_parser("profile", help="params and MAdds of models (ours, spec files or timm names)")
    p.add_argument("models", nargs="*", help="model names or spec files; default: the whole muxnet zoo "
                   "plus timm baselines")
    p.add_argument("--input-size", type=_parse_input_size, default=(3, 224, 224), help="C,H,W or one size")
    p.add_argument("--num-classes", type=positive_int, default=1000)
    p.add_argument("--layers", action="store_true", help="also print the per-layer table of each model")
    p.add_argument("--family", help="list an ablation family instead (e.g. mobilenetv2_spatialmux); "
                   "'list' prints the family names")
    p.add_argument("--output", metavar="FILE", help="also write the table to FILE (never overwritten)")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("train", help="train or fine-tune a model with one of the paper's recipes "
                       "(no arguments: a small MUXNet on the embedded digits)")
    _add_recipe_arguments(p)
    p.add_argument("--model", help="zoo name or spec file (default: the recipe's)")
    p.add_argument("--pretrained", type=existing_file,
                   help="checkpoint to start from; a classifier of another size is re-initialised")
    p.add_argument("--epochs", type=positive_int)
    p.add_argument("--lr", type=positive_float)
    p.add_argument("--seed", type=int)
    p.add_argument("--output", metavar="DIR", help="run directory (default: runs/<recipe>-<model>)")
    add_resume(p)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--tensorboard", action="store_true", help="also log to RUN_DIR/tensorboard (if installed)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="top-1/top-5 (AUROC for multi-label) of a model and checkpoint on a dataset")
    p.add_argument("target", metavar="MODEL",
                   help="zoo name or spec file, or a run directory (uses its recipe and best weights)")
    p.add_argument("--checkpoint", type=existing_file,
                   help="weights: ours, timm's or the released layout (.pth/.safetensors)")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    _add_metrics_output(p)
    p.add_argument("--reference-data", metavar="DIR", type=existing_dir,
                   help="also evaluate on this data (e.g. ImageNet, with --data ImageNet-V2) and report the accuracy "
                   "drop from it")
    _add_recipe_arguments(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("export", help="export a model for inference (ONNX with dynamic batch/size, or torch.export)")
    p.add_argument("model", help="zoo name or spec file")
    p.add_argument("--checkpoint", type=existing_file,
                   help="weights to export (without: random weights, with a warning)")
    p.add_argument("--format", default="onnx", choices=("onnx", "torch_export"))
    p.add_argument("--fuse", action="store_true", help="export the exact, faster muxnet.deploy() form")
    p.add_argument("--output", metavar="FILE", help="file to write (default: MODEL.onnx / MODEL.pt2); never "
                   "overwritten unless --overwrite")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--input-size", type=_parse_input_size, help="C,H,W or one size (default: the model's)")
    p.add_argument("--num-classes", type=positive_int, help="classifier width (default: the model's)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("benchmark", help="CPU latency of models on each inference path, interleaved in one run")
    p.add_argument("models", nargs="*", default=["muxnet_m", "mobilenetv3_large_100"],
                   help="zoo names, spec files or timm names (default: muxnet_m mobilenetv3_large_100)")
    p.add_argument("--paths", nargs="+", default=["eager", "deploy", "onnxruntime"],
                   choices=("eager", "deploy", "compile", "onnxruntime"))
    p.add_argument("--baseline", help="model the ratios refer to (default: the first)")
    p.add_argument("--input-size", type=_parse_input_size, default=(3, 224, 224), help="C,H,W or one size")
    p.add_argument("--batch-size", type=positive_int, default=1)
    p.add_argument("--repeats", type=positive_int, default=30)
    p.add_argument("--threads", type=positive_int, default=1)
    chart = p.add_argument("--output", default="benchmark.png", metavar="PNG",
                           help="the bar chart to write ('' for none)")
    add_alias(p, "--chart", chart)
    p.add_argument("--overwrite", action="store_true", help="replace an existing chart")
    p.add_argument("--ops", action="store_true",
                   help="instead: ONNX Runtime's kernel time per operator kind of each deployed model")
    p.set_defaults(func=cmd_benchmark)

    p = sub.add_parser("robustness", help="errors under the 19 ImageNet-C corruptions x 5 severities, CE/mCE "
                       "(no arguments: the default digits model, corruptions made on the fly)")
    p.add_argument("--model", help="run directory, zoo name or spec file (default: the embedded digits model, "
                   "trained on first use)")
    p.add_argument("--checkpoint", type=existing_file, help="weights for --model")
    p.add_argument("--imagenet-c", metavar="DIR", type=existing_dir,
                   help="the released ImageNet-C tree (<corruption>/<severity>/<wnid>/)")
    p.add_argument("--data", metavar="DIR", type=existing_dir,
                   help="evaluation images (ImageFolder-style or ImageNet-V2 folder) to corrupt on the fly; with "
                   "--imagenet-c: the clean ImageNet val folder (class order, clean and relative errors)")
    output = p.add_argument("--output", default="runs/robustness", metavar="DIR",
                            help="output directory (must not hold a run)")
    add_alias(p, "--out", output)
    p.add_argument("--corruptions", type=_list_of(str), default=None, help="comma-separated (default: all 19)")
    p.add_argument("--severities", type=_list_of(int), default=None, help="comma-separated (default: 1,2,3,4,5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the on-the-fly corruptions")
    p.add_argument("--max-images", type=positive_int,
                   help="evaluate an evenly spaced subset of this many images per set")
    p.add_argument("--reference", type=existing_file,
                   help="JSON of reference errors (default: AlexNet's published ImageNet-C errors; on digits a fitted "
                   "linear classifier)")
    p.add_argument("--compare", action="append", default=[], metavar="SUMMARY_JSON", type=existing_file,
                   help="an earlier run's summary.json to draw beside this one in bars.png (repeatable)")
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--workers", type=non_negative_int, default=0, help="data loading processes")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    p.set_defaults(func=cmd_robustness)

    p = sub.add_parser("cam", help="class activation maps (CAM, Grad-CAM) as overlays; with ChestX-Ray14 boxes, "
                       "how often the maps hit them (no arguments: a grid of digits)")
    p.add_argument("--model", help="run directory, zoo name or spec file (default: the embedded digits model)")
    p.add_argument("--checkpoint", type=existing_file, help="weights for --model")
    p.add_argument("--images", nargs="*", default=[], type=existing_file,
                   help="image files (default: digits test images)")
    data = p.add_argument("--data", metavar="DIR", type=existing_dir,
                          help="ChestX-Ray14 root: the images listed in BBox_List_2017.csv, with their boxes")
    add_alias(p, "--chestxray", data)
    p.add_argument("--boxes", type=existing_file, help="BBox_List_2017.csv (default: in --data)")
    p.add_argument("--method", choices=("cam", "gradcam", "both"), default="both")
    p.add_argument("--classes", type=_list_of(int), default=None,
                   help="class index per image (default: the predicted class, or the boxed finding)")
    p.add_argument("--threshold", type=float, default=0.5, help="CAM threshold (of its max) for the box metrics")
    p.add_argument("--tolerance", type=int, default=15,
                   help="pointing game: a hit within this many pixels of the boxes, at the original image size "
                        "(default 15, as TorchRay's PointingGame; 0: inside only)")
    p.add_argument("--max-images", type=positive_int, help="at most this many images")
    output = p.add_argument("--output", default="runs/cam", metavar="DIR",
                            help="output directory (must not hold a run)")
    add_alias(p, "--out", output)
    p.add_argument("--device", help="cpu, cuda or cuda:N")
    p.set_defaults(func=cmd_cam)

    p = sub.add_parser("search", help="the tri-objective (error, params, MAdds or latency) architecture search "
                       "(no arguments: a ~5 minute search on the embedded cluttered digits)")
    from .search.cli import add_search_arguments

    add_search_arguments(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ablate", help="train every member of one of the papers' ablation figures over several seeds "
                       "and test its claims ('list' names the figures and families)")
    from .ablation.cli import add_ablate_arguments

    add_ablate_arguments(p)
    p.set_defaults(func=cmd_ablate)

    _add_task_parser(sub, "detect", "SSD/SSDLite object detection with MUXNet backbones (VOC layout)", "VOCdevkit",
                     "SSDLite on MUXNet-xs over the embedded digit scenes")
    _add_task_parser(sub, "segment", "C1/PPM semantic segmentation with MUXNet backbones (ADE20K layout)",
                     "ADEChallengeData2016", "C1 on a dilated MUXNet-xs over the embedded digit scenes")
    return parser


def _check_before_work(args: argparse.Namespace) -> None:
    """The checks every subcommand shares, before it trains, downloads or writes anything: which run
    ``--resume`` continues, and that ``--device`` exists on this machine."""
    settle_resume(args)
    if getattr(args, "device", None):
        from .runtime import resolve_device

        resolve_device(args.device)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``muxnet`` command line and return its exit status (also for bad arguments and ``--help``, which
    argparse ends with ``SystemExit``, so a caller gets 2 for a bad path as for a failed command).

    A failure a user can fix (bad value, missing file, occupied directory) is one line on stderr; with ``--debug``
    or ``MUXNET_DEBUG=1`` it is raised instead, so its traceback shows.
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # argparse has printed the usage and what is wrong, or the help
        return stop.code if isinstance(stop.code, int) else 2
    debug = getattr(args, "debug", False) or os.environ.get("MUXNET_DEBUG", "0") not in ("", "0")
    try:
        _check_before_work(args)
        return args.func(args)
    except (ValueError, KeyError, OSError, RuntimeError) as err:
        if debug:
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"muxnet {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
