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
    from .profiling_table import profile_table

    print(profile_table(args.models, input_size=args.input_size, num_classes=args.num_classes,
                        layers=args.layers))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="muxnet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("profile", help="params and MAdds of models (ours, spec files or timm names)")
    p.add_argument("models", nargs="*", help="model names or spec files; default: the whole muxnet zoo "
                   "plus timm baselines")
    p.add_argument("--input-size", type=_parse_input_size, default=(3, 224, 224), help="C,H,W or one size")
    p.add_argument("--num-classes", type=int, default=1000)
    p.add_argument("--layers", action="store_true", help="also print the per-layer table of each model")
    p.set_defaults(func=cmd_profile)
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
