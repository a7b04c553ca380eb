"""Names of composite models: ``<head>_<backbone>`` (``ssdlite_muxnet_m``, ``ppm_mobilenetv2_100``)."""

from __future__ import annotations

from collections.abc import Sequence


def split_head_name(name: str, heads: Sequence[str], what: str, example: str) -> tuple[str, str]:
    """``("ppm_muxnet_m", ("c1", "ppm"))`` -> ``("ppm", "muxnet_m")``; any other head is an error naming them."""
    head, _, backbone = name.partition("_")
    if head not in heads or not backbone:
        forms = " or ".join(f"{h}_<backbone>" for h in heads)
        raise ValueError(f"{what} name must be {forms} (e.g. {example}), got {name!r}")
    return head, backbone


__all__ = ["split_head_name"]
