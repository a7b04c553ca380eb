"""The command-line vocabulary every ``muxnet`` subcommand shares, as argparse pieces.

One spelling per concept (``--output``, ``--data``, ``--dataset``, ``--resume``, ``--device``, ``--seed``) and
one way to keep an old spelling working, so a subcommand cannot drift from the others. The types check what
can be checked from the command line alone (a count is positive, a path exists), so a typo fails before a
command trains, downloads or writes anything.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


class DeprecatedAlias(argparse.Action):
    """An old spelling of a flag: hidden from ``--help``, stores into the new flag's ``dest``, and says on stderr,
    in one line, which spelling replaces it (scripts keep working; their authors learn the new name)."""

    def __init__(self, option_strings, dest, replacement: str, **kwargs):
        kwargs["help"] = argparse.SUPPRESS
        kwargs.setdefault("default", argparse.SUPPRESS)  # the new flag's default stands
        super().__init__(option_strings, dest, **kwargs)
        self.replacement = replacement

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog}: {option_string} is deprecated; use {self.replacement}", file=sys.stderr)
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)


def add_alias(parser: argparse.ArgumentParser, old: str, new: argparse.Action) -> None:
    """Accept ``old`` as a deprecated spelling of ``new`` (the action ``add_argument`` returned), parsed the same
    way (type, choices, number of values) into the same ``dest``."""
    parser.add_argument(old, dest=new.dest, action=DeprecatedAlias, replacement=new.option_strings[0],
                        type=new.type, nargs=new.nargs, const=new.const, choices=new.choices, metavar=new.metavar)


def add_resume(parser: argparse.ArgumentParser, what: str = "run") -> argparse.Action:
    """``--resume [DIR]``: continue the ``what`` in DIR; without DIR, the one in ``--output``."""
    # a bare --resume parses to True (as the switch it once was in `muxnet search`); settle_resume makes it a path
    return parser.add_argument("--resume", nargs="?", const=True, type=existing_dir, metavar="DIR",
                               help=f"continue the {what} in DIR after a crash or kill (without DIR: the one in "
                                    "--output)")


def settle_resume(args: argparse.Namespace) -> None:
    """Make ``args.resume`` the run directory to continue (or ``None``) and ``args.output`` the same directory.

    A bare ``--resume`` needs ``--output``; ``--resume DIR`` with another ``--output`` is refused rather than one
    of the two silently winning.
    """
    resume, output = getattr(args, "resume", None), getattr(args, "output", None)
    if resume is None:
        return
    if resume is True:
        if not output:
            raise ValueError("--resume without a directory continues the run in --output; give --resume DIR "
                             "or --output DIR")
        if not Path(output).is_dir():
            raise ValueError(f"--resume: {output} does not exist, so there is no run to continue")
        resume = output
    elif output and Path(output).resolve() != Path(resume).resolve():
        raise ValueError(f"--resume {resume} continues the run in {resume}, but --output names {output}; "
                         "give one of them")
    args.resume = str(resume)
    if hasattr(args, "output"):
        args.output = str(resume)


def _integer(minimum: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
        return value

    return parse


positive_int = _integer(1, "at least 1")
non_negative_int = _integer(0, "at least 0")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _existing(text: str, directory: bool) -> str:
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text} does not exist")
    if directory and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a directory")
    if not directory and path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory, not a file")
    return text


def existing_dir(text: str) -> str:
    """A directory that exists (returned as given: messages and recipes show the user's spelling)."""
    return _existing(text, directory=True)


def existing_file(text: str) -> str:
    """A file that exists."""
    return _existing(text, directory=False)


__all__ = ["DeprecatedAlias", "add_alias", "add_resume", "existing_dir", "existing_file",
           "non_negative_int", "positive_float", "positive_int", "settle_resume"]
