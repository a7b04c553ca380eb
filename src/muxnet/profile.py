"""Counting parameters and multiply-adds the way the MUXConv paper does, plus its analytic block costs.

MAdds are the multiply-accumulates of every convolution and linear layer for one image (BN, activations,
pooling, shuffles and the SE gate's multiplication are free), which reproduces the published figures of
MUXNet, MixNet, MobileNetV2/V3 and EfficientNet within about 2%.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from .models.spec import BlockSpec


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
    how :func:`profile_spec` counts thousands of candidate architectures cheaply.
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


def profile_spec(spec, input_size: Sequence[int] | None = None) -> Profile:
    """Profile a :class:`~muxnet.models.spec.NetworkSpec` without allocating weights (meta device)."""
    from .models.network import build_model

    with torch.device("meta"):
        model = build_model(spec)
    return profile(model, input_size or spec.input_size)


@functools.lru_cache(maxsize=65536)
def _block_cost(block: BlockSpec, in_channels: int, stride: int, height: int, width: int) -> tuple[int, int]:
    from .models.blocks import create_block
    from .models.spec import ResolvedBlock

    with torch.device("meta"):
        module = create_block(ResolvedBlock(0, 0, in_channels, block, stride, 0.0))
    counted = profile(module, (in_channels, height, width))
    return counted.params, counted.madds


def count_spec(spec, input_size: Sequence[int] | None = None) -> tuple[int, int]:
    """``(params, MAdds)`` of a spec, exactly as :func:`profile_spec` counts them, without building the network.

    Each distinct block (its spec, input width, stride and input resolution) is measured once on the meta
    device and remembered; the stem, head and classifier are counted in closed form. Searches that score
    thousands of genomes sharing the same few hundred blocks pay for each block once.
    """
    channels, height, width = (int(v) for v in (input_size or spec.input_size))

    def shrink(size: int, stride: int) -> int:  # odd kernels with (k - 1) // 2 padding
        return (size - 1) // stride + 1

    height, width = shrink(height, spec.stem_stride), shrink(width, spec.stem_stride)
    params = spec.stem_channels * channels * 9 + 2 * spec.stem_channels
    madds = spec.stem_channels * channels * 9 * height * width
    for block in spec.blocks():
        block_params, block_madds = _block_cost(block.spec, block.in_channels, block.stride, height, width)
        params, madds = params + block_params, madds + block_madds
        height, width = shrink(height, block.stride), shrink(width, block.stride)
    last = spec.stages[-1][-1].out_channels
    if spec.head_channels:
        params += last * spec.head_channels + 2 * spec.head_channels
        madds += last * spec.head_channels * height * width
    if spec.num_classes:
        params += spec.num_features * spec.num_classes + spec.num_classes
        madds += spec.num_features * spec.num_classes
    return params, madds


# -- appendix B of the paper: analytic costs of a MobileNet block and of a MUXConv block --------------------------
def mobilenet_block_complexity(channels: int, expand_ratio: float, kernel_size: int = 3,
                               height: int = 1, width: int = 1) -> tuple[float, float]:
    """``(params, FLOPs)`` of 1x1 expand + kxk depthwise + 1x1 project with C in = C out, as in the paper:
    ``Params = C*EC + EC*k^2 + EC*C`` and ``FLOPs = H*W*Params`` (BN, activations and SE ignored)."""
    c, ec = channels, expand_ratio * channels
    params = c * ec + ec * kernel_size**2 + ec * c
    return params, height * width * params


def muxconv_block_complexity(channels: int, expand_ratio: float, group_factor: int, leave_out: float,
                             kernel_size: int = 3, height: int = 1, width: int = 1,
                             scales: Sequence[int] = ()) -> tuple[float, float]:
    """``(params, FLOPs)`` of a MUXConv block, as in the paper: with ``C' = (1 - L) C``,
    ``Params = C'*EC' + G*EC'*k^2 + EC'*C'`` and ``FLOPs = H*W*Params``.

    With spatial multiplexing (``scales``), the ``EC'`` channels of the kxk conv are split as
    :func:`~muxnet.layers.spatial_multiplexing.spatial_partition` does; a subpixel part of width ``C_i`` holds
    ``r^2 C_i G k^2`` weights and a superpixel part ``C_i G k^2 / r^2``, while every part costs
    ``H W C_i G k^2`` multiply-adds, so only the parameter count changes.
    """
    c = (1.0 - leave_out) * channels
    ec = expand_ratio * c
    params = c * ec + group_factor * ec * kernel_size**2 + ec * c
    flops = height * width * params
    if scales and any(scales):
        from .layers.spatial_multiplexing import RATIO, SUBPIXEL, SUPERPIXEL, spatial_partition

        factor = {SUBPIXEL: RATIO**2, SUPERPIXEL: 1 / RATIO**2}
        weights = sum(w * factor.get(s, 1) for s, w in spatial_partition(int(round(ec)), scales, group_factor))
        params += group_factor * kernel_size**2 * (weights - ec)
    return params, flops


def complexity_ratio(channels: int, expand_ratio: float, group_factor: int, leave_out: float,
                     kernel_size: int = 3) -> float:
    """MUXConv / MobileNet parameter ratio (the paper's Fig. 13); below 1 the MUXConv block is cheaper."""
    mux, _ = muxconv_block_complexity(channels, expand_ratio, group_factor, leave_out, kernel_size)
    mobile, _ = mobilenet_block_complexity(channels, expand_ratio, kernel_size)
    return mux / mobile


def format_millions(value: float) -> str:
    return f"{value / 1e6:.3f}M"


__all__ = [
    "LayerCount",
    "Profile",
    "complexity_ratio",
    "count_spec",
    "format_millions",
    "mobilenet_block_complexity",
    "muxconv_block_complexity",
    "profile",
    "profile_spec",
]
