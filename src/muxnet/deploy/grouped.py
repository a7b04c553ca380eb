"""A grouped convolution with ``G`` channels per group as ``G`` depthwise convolutions plus adds.

With ``G`` channels per group, output channel ``c`` (position ``c_l`` in its group) is
``sum_i W[c, i] * x[g(c) + i]``. Substituting ``i = (c_l + s) mod G`` gives
``y = sum_s dw_s(x[perm_s])`` where ``perm_s`` rotates every group by ``s`` (``perm_0`` is the identity) and
``dw_s`` is the depthwise conv with weights ``W[c, (c_l + s) mod G]``. Depthwise convs have fast kernels in
oneDNN and ONNX Runtime (its NCHWc path), while a conv with 2 channels per group runs as im2col plus tiny GEMMs
there; the rotation is one channel gather.
"""

from __future__ import annotations

import torch
from torch import nn

from .replace import replace_modules

# group widths worth rewriting (measured: 2 wins in ONNX Runtime and eager; 8-wide groups have fast kernels)
DEFAULT_GROUP_WIDTHS = (2,)


class GroupedAsDepthwise(nn.Module):
    """``sum_s dw_s(x[:, perm_s])``: the exact depthwise form of a grouped conv (see the module docstring)."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        group = conv.in_channels // conv.groups
        if conv.in_channels != conv.out_channels or group < 2:
            raise ValueError(f"GroupedAsDepthwise needs a grouped conv with in == out channels, got {conv}")
        channels = conv.in_channels
        self.group_width = group
        local = torch.arange(channels) % group
        start = torch.arange(channels) - local
        self.convs = nn.ModuleList()
        for shift in range(group):
            source = (local + shift) % group
            dw = nn.Conv2d(channels, channels, conv.kernel_size, stride=conv.stride, padding=conv.padding,
                           dilation=conv.dilation, groups=channels, bias=shift == 0 and conv.bias is not None)
            dw = dw.to(conv.weight.dtype)
            dw.weight.data.copy_(conv.weight.data[torch.arange(channels), source].unsqueeze(1))
            if dw.bias is not None:
                dw.bias.data.copy_(conv.bias.data)
            self.convs.append(dw)
            if shift:
                self.register_buffer(f"perm{shift}", start + source, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.convs[0](x)
        for shift in range(1, self.group_width):
            y = y + self.convs[shift](x.index_select(1, getattr(self, f"perm{shift}")))
        return y


def is_rewritable_grouped_conv(module: nn.Module, group_widths=DEFAULT_GROUP_WIDTHS) -> bool:
    return (isinstance(module, nn.Conv2d) and module.groups > 1 and module.in_channels == module.out_channels
            and module.in_channels // module.groups in group_widths)


@torch.no_grad()
def grouped_conv_as_depthwise(model: nn.Module, group_widths=DEFAULT_GROUP_WIDTHS) -> nn.Module:
    """Replace (in place) every grouped ``nn.Conv2d`` whose groups are ``group_widths`` channels wide."""
    return replace_modules(model, lambda m: is_rewritable_grouped_conv(m, group_widths), GroupedAsDepthwise)
