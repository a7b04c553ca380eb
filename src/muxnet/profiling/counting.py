"""Counting parameters and multiply-adds of a built model the way the MUXConv paper does.

MAdds are the multiply-accumulates of every convolution and linear layer for one image (BN, activations,
pooling, shuffles and the SE gate's multiplication are free), which reproduces the published figures of
MUXNet, MixNet, MobileNetV2/V3 and EfficientNet within about 2%.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass(frozen=True)
class LayerCount:
    name: str
    kind: str
    params: int
    madds: int
    output_shape: tuple[int, ...]


@dataclass(frozen=True)
class Profile:
    """Totals for one model at one input size, and the per-layer rows they add up from."""

    params: int
    madds: int
    input_size: tuple[int, int, int]
    layers: list[LayerCount] = field(default_factory=list, repr=False)

    def table(self, top: int | None = None) -> str:
        rows = sorted(self.layers, key=lambda r: -r.madds)[:top] if top else self.layers
        width = max([len(r.name) for r in rows] + [5])
        lines = [f"{'layer':<{width}}  {'type':<8}  {'params':>10}  {'MAdds':>12}  output"]
        for r in rows:
            lines.append(f"{r.name:<{width}}  {r.kind:<8}  {r.params:>10,}  {r.madds:>12,}  {r.output_shape}")
        lines.append(f"{'total':<{width}}  {'':<8}  {self.params:>10,}  {self.madds:>12,}")
        return "\n".join(lines)


def _layer_madds(module: nn.Module, output: torch.Tensor) -> int:
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        per_output = (module.in_channels // module.groups) * kh * kw
        return int(output[0].numel()) * per_output
    return int(output[0].numel()) * module.in_features  # nn.Linear


@torch.no_grad()
def profile(model: nn.Module, input_size: Sequence[int] = (3, 224, 224)) -> Profile:
    """Params and MAdds of ``model`` for one image of ``input_size`` (C, H, W), with a per-layer table.

    Works on models whose parameters live on the ``meta`` device too (no memory, no arithmetic), which is
    how :func:`~muxnet.profiling.spec_cost.profile_spec` counts thousands of candidate architectures cheaply.
    """
    input_size = tuple(int(v) for v in input_size)
    if len(input_size) != 3:
        raise ValueError(f"input_size must be (channels, height, width), got {input_size}")
    rows: list[LayerCount] = []
    names = {m: n for n, m in model.named_modules()}

    def hook(module: nn.Module, _inputs, output: torch.Tensor) -> None:
        params = sum(p.numel() for p in module.parameters(recurse=False))
        kind = "linear" if isinstance(module, nn.Linear) else "conv" if module.groups == 1 else \
            "dwconv" if module.groups == module.in_channels else "gconv"
        rows.append(LayerCount(names[module], kind, params, _layer_madds(module, output), tuple(output.shape[1:])))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    was_training = model.training
    try:
        model.eval()
        model(torch.zeros((1, *input_size), device=device, dtype=dtype))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    params = sum(p.numel() for p in model.parameters())
    return Profile(params, sum(r.madds for r in rows), input_size, rows)


__all__ = ["LayerCount", "Profile", "profile"]
