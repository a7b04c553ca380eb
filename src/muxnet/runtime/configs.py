"""Frozen run configs: what every command's config does with its inputs before it checks them.

A command's entry point takes its config object, or the config's fields as keywords for a caller that does
not build one (both forms are public); paths given as text or as ``Path`` are stored as ``Path``, and an empty
string means "not given", as an unset command-line flag does.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

Config = TypeVar("Config")


def optional_path(value: str | Path | None) -> Path | None:
    """``value`` as a ``Path``; ``None`` and ``""`` (a flag left unset) as ``None``."""
    return None if value is None or value == "" else Path(value)


def config_from(kind: type[Config], config: Config | None, settings: Mapping[str, Any], caller: str) -> Config:
    """``config`` when given, else ``kind(**settings)``; giving both is an error, since one would be ignored."""
    if config is None:
        return kind(**settings)
    if settings:
        raise TypeError(f"{caller} takes a {kind.__name__} or its fields as keywords, not both")
    if not isinstance(config, kind):
        raise TypeError(f"{caller} takes a {kind.__name__}, got {type(config).__name__}")
    return config


__all__ = ["config_from", "optional_path"]
