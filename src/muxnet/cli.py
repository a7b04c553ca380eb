"""The ``muxnet`` command: thin argument parsing over the library; every subcommand calls one function."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


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


def cmd_profile(args: argparse.Namespace) -> int:
    from .profiling import family_table, profile_table

    if args.family:
        print(family_table(args.family, input_size=args.input_size, num_classes=args.num_classes))
        return 0
    print(profile_table(args.models, input_size=args.input_size, num_classes=args.num_classes,
                        layers=args.layers))
    return 0


# command-line flags that are shorthands for recipe keys (everything else: --set section.key=value)
TRAIN_FLAGS = (("model", "model.name"), ("pretrained", "model.pretrained"), ("epochs", "schedule.epochs"),
               ("batch_size", "data.batch_size"), ("lr", "optimizer.lr"), ("image_size", "data.image_size"),
               ("workers", "data.workers"), ("output", "output.dir"), ("seed", "training.seed"),
               ("device", "training.device"), ("threads", "training.threads"))
TRAIN_SWITCHES = (("skip_bad_images", "data.skip_bad_images"), ("channels_last", "training.channels_last"),
                  ("tensorboard", "output.tensorboard"))


def _recipe_overrides(args: argparse.Namespace) -> list:
    pairs: list = [(key, getattr(args, dest)) for dest, key in TRAIN_FLAGS
                   if getattr(args, dest, None) is not None]
    pairs += [(key, True) for dest, key in TRAIN_SWITCHES if getattr(args, dest, False)]
    if getattr(args, "no_progress", False):
        pairs.append(("output.progress", False))
    return [*pairs, *args.set]


def cmd_train(args: argparse.Namespace) -> int:
    import os

    from .train import build_recipe, train

    recipe = build_recipe(args.recipe, args.data, args.dataset, args.resume, _recipe_overrides(args))
    summary = train(recipe, resume=args.resume is not None)
    if os.environ.get("RANK", "0") == "0" and summary:
        best = summary["best"] or {}
        for split in ("val", "test"):
            if best.get(split):
                key = "auroc" if summary["multi_label"] else "top1"
                print(f"best {split} {key}: {best[split][key]:.2f} (epoch {best['epoch']})")
        print(f"wrote {summary['run_dir']}/summary.json ({summary['wall_time_s']:.0f}s)")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import json

    from .train import evaluate_target

    result = evaluate_target(args.target, args.checkpoint, args.data, args.dataset, args.recipe, args.split,
                             _recipe_overrides(args))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        keys = ("auroc",) if "auroc" in result else ("top1", "top5")
        metrics = ", ".join(f"{k} {result[k]:.2f}" for k in keys)
        print(f"{result['model']} on {result['dataset']} {result['split']} ({result['count']} images): {metrics}")
        for name, value in (result.get("auroc_per_class") or {}).items():
            print(f"  {name:<20} {value:.2f}")
    return 0


def _add_recipe_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recipe", help="shipped recipe (digits, imagenet, transfer, chestxray) or a recipe .yaml; "
                   "default: follows the data (none: digits)")
    p.add_argument("--data", help="data directory: ImageFolder (train/, val/), CIFAR-10/100 pickles, or "
                   "ChestX-Ray14; default: the embedded digits")
    p.add_argument("--dataset", choices=("digits", "imagefolder", "cifar10", "cifar100", "chestxray"),
                   help="data layout (default: detected from --data)")
    p.add_argument("--image-size", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--workers", type=int, help="data loading processes (default: the cores available, at most 8)")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.add_argument("--skip-bad-images", action="store_true",
                   help="skip unreadable images (listed in the run's bad_images.txt) instead of stopping")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any recipe key, e.g. --set optimizer.lr=0.01 --set training.ema_decay=null")


def cmd_search(args: argparse.Namespace) -> int:
    from .search.cli import search_from_args

    return search_from_args(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="muxnet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("profile", help="params and MAdds of models (ours, spec files or timm names)")
    p.add_argument("models", nargs="*", help="model names or spec files; default: the whole muxnet zoo "
                   "plus timm baselines")
    p.add_argument("--input-size", type=_parse_input_size, default=(3, 224, 224), help="C,H,W or one size")
    p.add_argument("--num-classes", type=int, default=1000)
    p.add_argument("--layers", action="store_true", help="also print the per-layer table of each model")
    p.add_argument("--family", help="list an ablation family instead (e.g. mobilenetv2_spatialmux); "
                   "'list' prints the family names")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("train", help="train or fine-tune a model with one of the paper's recipes "
                       "(no arguments: a small MUXNet on the embedded digits)")
    _add_recipe_arguments(p)
    p.add_argument("--model", help="zoo name or spec file (default: the recipe's)")
    p.add_argument("--pretrained", help="checkpoint to start from; a classifier of another size is re-initialised")
    p.add_argument("--epochs", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--output", help="run directory (default: runs/<recipe>-<model>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last.pt")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--tensorboard", action="store_true", help="also log to RUN_DIR/tensorboard (if installed)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="top-1/top-5 (AUROC for multi-label) of a model and checkpoint on a dataset")
    p.add_argument("target", metavar="MODEL",
                   help="zoo name or spec file, or a run directory (uses its recipe and best weights)")
    p.add_argument("--checkpoint", help="weights: ours, timm's or the released layout (.pth/.safetensors)")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    _add_recipe_arguments(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("search", help="the tri-objective (error, params, MAdds) architecture search "
                       "(no arguments: a ~5 minute search on the embedded digits)")
    from .search.cli import add_search_arguments

    add_search_arguments(p)
    p.set_defaults(func=cmd_search)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, KeyError, FileNotFoundError, RuntimeError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"muxnet {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
