"""Appendix B of the MUXConv paper: the analytic params and FLOPs of a MobileNet block and of a MUXConv block,
and their ratio (its Fig. 13). Tests check the formulas against the counted layers of the built blocks."""

from __future__ import annotations

from collections.abc import Sequence

from ..layers.spatial_multiplexing import RATIO, SUBPIXEL, SUPERPIXEL, spatial_partition


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


__all__ = ["complexity_ratio", "mobilenet_block_complexity", "muxconv_block_complexity"]
