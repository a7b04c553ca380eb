"""Which device a command runs on: the one asked for, else CUDA when this process sees one, else the CPU."""

from __future__ import annotations

import torch


def resolve_device(name: str | torch.device | None = None) -> torch.device:
    """``name`` ("cpu", "cuda", "cuda:1", a device) as a device; ``None`` picks CUDA when it is available.

    Asking for CUDA on a machine without it is an error here, before any work, not at the first tensor.
    """
    if name is None or name == "":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"device: expected cpu, cuda or cuda:N, got {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {name} was asked for but this machine has no CUDA device")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"device: {name} was asked for but this machine has {torch.cuda.device_count()} CUDA "
                         "device(s)")
    return device


__all__ = ["resolve_device"]
