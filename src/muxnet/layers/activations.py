"""Activation functions by name, so that specs can stay plain data (JSON/YAML strings)."""

from __future__ import annotations

from torch import nn

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "swish": nn.SiLU,
    "silu": nn.SiLU,
    "hard_swish": nn.Hardswish,
    "gelu": nn.GELU,
}


def activation_names() -> list[str]:
    return sorted(_ACTIVATIONS)


def create_activation(name: str, inplace: bool = True) -> nn.Module:
    """Instantiate the activation called ``name`` (``"swish"`` is SiLU, as in the MUXNet/MixNet papers)."""
    try:
        cls = _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {activation_names()}") from None
    if cls is nn.GELU:
        return cls()
    return cls(inplace=inplace)
