"""Arguments of ``muxnet ablate`` and the call into :func:`~muxnet.ablation.sweep.run_ablation`."""

from __future__ import annotations

import argparse

from ..runtime.arguments import add_resume, existing_dir, positive_int
from .figures import FIGURES, get_figure
from .sweep import DEFAULT_SEEDS, AblationConfig


def add_ablate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("family", nargs="?", metavar="FAMILY",
                   help="a figure (fig8a, fig8b, mixnet_kernels) or any ablation family; 'list' names them")
    p.add_argument("--family", dest="family_option", metavar="FAMILY", help="the same as FAMILY")
    p.add_argument("--seeds", type=positive_int,
                   help=f"runs per member, seeds --seed, --seed + 1, ... (default {DEFAULT_SEEDS}; with --resume: "
                        "the sweep's, or more to add seeds)")
    p.add_argument("--seed", type=int, help="the first seed (default 0)")
    p.add_argument("--data", metavar="DIR", type=existing_dir,
                   help="data directory, read as muxnet train --data reads it (CIFAR-10/100 pickles or class "
                        "folders); default: the embedded task muxnet train uses")
    p.add_argument("--dataset", help="data layout (default: detected from --data)")
    p.add_argument("--recipe", help="shipped recipe name or a recipe .yaml, one for every member (default: the one "
                   "muxnet train uses without arguments)")
    p.add_argument("--epochs", type=positive_int, help="epochs of every run (the recipe's schedule.epochs)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any recipe key for every member, e.g. --set optimizer.lr=0.05")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--members", type=lambda text: [part for part in text.split(",") if part], default=[],
                   metavar="PATTERN[,PATTERN]",
                   help="train only the members whose names match (shell-style, e.g. '*_010,*_025'); the sweep "
                        "keeps the whole figure and a later --resume trains the rest (default: every member)")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="runs trained at once, each in its own process on one thread (default 1: one after the "
                        "other); e.g. the number of CPU cores, or several processes sharing one GPU")
    p.add_argument("--output", metavar="DIR", help="sweep directory (default: runs/ablate-<FAMILY>)")
    add_resume(p, "sweep")


def list_figures() -> str:
    from ..models.ablations import FAMILIES

    lines = ["figures (lines of families, with the papers' claims):"]
    lines += [f"  {f.name:<16} {len(f.members):>2} members  {f.description}" for f in FIGURES.values()]
    lines += ["families (one line each, no claims):"]
    lines += [f"  {name:<30} {len(members):>2} members" for name, members in sorted(FAMILIES.items())]
    return "\n".join(lines)


def ablate_from_args(args: argparse.Namespace) -> int:
    from .report import PLOT, SUMMARY, format_table
    from .sweep import run_ablation

    family = args.family
    if args.family_option:
        if family and family != args.family_option:
            raise ValueError(f"FAMILY {family!r} and --family {args.family_option!r} disagree; give one")
        family = args.family_option
    if family == "list":
        print(list_figures())
        return 0
    if family is None and args.resume is None:
        raise ValueError("name a figure or family (muxnet ablate list names them), or --resume DIR")
    if family is not None:
        get_figure(family)  # an unknown name fails here, with the names it could have been
    overrides = [*([("schedule.epochs", args.epochs)] if args.epochs else []), *args.set]
    config = AblationConfig(figure=family, output=args.output, seeds=args.seeds, seed=args.seed, recipe=args.recipe,
                            data=args.data, dataset=args.dataset, overrides=overrides, device=args.device,
                            progress=not args.no_progress, members=args.members,
                            workers=args.workers)
    summary = run_ablation(config, resume=args.resume is not None)
    print(format_table(summary))
    output = args.output or f"runs/ablate-{summary['figure']}"
    print(f"wrote {output}/{SUMMARY} and {PLOT} ({summary['train_time_s']:.0f}s of training)")
    return 0


__all__ = ["ablate_from_args", "add_ablate_arguments", "list_figures"]
