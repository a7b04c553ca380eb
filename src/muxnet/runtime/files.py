"""Writing outputs so that nothing is lost: atomic files, and output directories that are never overwritten.

A run killed during a write must leave the old file or the new one, never half of one; and a command pointed at
a directory that already holds another run must refuse before it starts any work, not after.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def atomic_write(path: str | Path, content: str | bytes | Callable[[Path], Any]) -> Path:
    """Write ``content`` (text, bytes, or a function that writes the file it is given) to ``path`` atomically:
    to a temporary file beside it (same suffix, so writers that dispatch on it still work), then renamed."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        if callable(content):
            content(tmp)
        elif isinstance(content, bytes):
            tmp.write_bytes(content)
        else:
            tmp.write_text(content)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def check_writable(path: str | Path, overwrite: bool = False) -> None:
    """Refuse, before any work, to replace an existing file unless asked to."""
    if Path(path).exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; choose another path or pass --overwrite")


def refuse_existing_run(directory: str | Path, outputs: Iterable[str], what: str, hint: str | None = None,
                        error: type[Exception] = FileExistsError) -> None:
    """Refuse ``directory`` if it already holds any of a run's ``outputs`` (file names inside it).

    ``what`` names the kind of run in the message ("a robustness run"); ``hint`` replaces the default advice
    (choose another ``--output``), e.g. with how to resume; ``error`` is the exception raised, for a caller whose
    own error type its users catch (a training run's ``RunError``).
    """
    directory = Path(directory)
    taken = [name for name in outputs if (directory / name).exists()]
    if taken:
        advice = hint or "choose another --output directory"
        raise error(f"{directory} already holds {what} ({', '.join(taken)}); {advice}")


COMPLETE_MARKER = ".complete"


def write_directory_once(target: str | Path, write: Callable[[Path], Any], what: str = "tree") -> Path:
    """Fill ``target`` with ``write(folder)`` unless a complete copy is already there; return ``target``.

    Generated data (a dataset rendered once, then reused by every later run) must never be seen half-written,
    even by a process that starts reading while another still writes: the tree is written into a temporary
    sibling, marked complete, then renamed into place. When two processes race, the first rename wins and the
    loser's copy is dropped. A ``target`` that exists without the marker (left by something else) is refused;
    ``what`` names the tree in that message.
    """
    target = Path(target)
    if (target / COMPLETE_MARKER).is_file():
        return target
    if target.exists():
        raise FileExistsError(f"{target} exists but is not a complete {what}; remove it or choose another root")
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        write(tmp)
        (tmp / COMPLETE_MARKER).write_text("")
        os.replace(tmp, target)
    except OSError:
        if not (target / COMPLETE_MARKER).is_file():  # not lost to a faster writer: a real failure
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


__all__ = ["COMPLETE_MARKER", "atomic_write", "check_writable", "refuse_existing_run", "write_directory_once"]
