"""An independent, functional re-statement of the released MUXNet-m/l forward pass.

It reads nothing but a flat state_dict in the released layout (``blocks.<k>.0.*``) and the block table of
ARCHITECTURES.md (type, stride, activation per block); every convolution is an explicit ``F.conv2d`` whose
groups and padding are derived from the weight shapes. The tests compare muxnet's modules against it.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

# (type, stride, activation) per released block, in order (ARCHITECTURES.md)
MUXNET_M_TABLE = (
    [("ds", 1, "relu"), ("ir", 2, "relu"), ("mux", 1, "relu"), ("mux", 1, "relu")]
    + [("ir", 2, "swish")] + [("mux", 1, "swish")] * 2
    + [("ir", 2, "swish")] + [("mux", 1, "swish")] * 2 + [("ir", 1, "swish")] + [("mux", 1, "swish")] * 2
    + [("ir", 2, "swish")] + [("mux", 1, "swish")] * 3 + [("ir", 1, "swish")]
)
MUXNET_L_TABLE = (
    [("ds", 1, "relu"), ("ir", 2, "relu"), ("mux", 1, "relu"), ("mux", 1, "relu")]
    + [("ir", 2, "swish")] + [("mux", 1, "swish")] * 3
    + [("ir", 2, "swish")] + [("mux", 1, "swish")] * 3 + [("ir", 1, "swish")] + [("mux", 1, "swish")] * 3
    + [("ir", 2, "swish")] + [("mux", 1, "swish")] * 3 + [("ir", 1, "swish")]
)


def _act(x, name):
    return F.relu(x) if name == "relu" else F.silu(x)


def _bn(x, sd, p):
    return F.batch_norm(x, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"], sd[p + ".bias"],
                        training=False, eps=1e-5)


def _conv(x, w, stride=1):
    groups = x.shape[1] // w.shape[1]
    return F.conv2d(x, w, stride=stride, padding=(w.shape[-1] - 1) // 2, groups=groups)


def _dw(x, sd, p, stride):
    if p + ".weight" in sd:
        return _conv(x, sd[p + ".weight"], stride)
    weights = []
    i = 0
    while f"{p}.{i}.weight" in sd:
        weights.append(sd[f"{p}.{i}.weight"])
        i += 1
    parts = torch.split(x, [w.shape[0] for w in weights], dim=1)
    return torch.cat([_conv(part, w, stride) for part, w in zip(parts, weights)], dim=1)


def _se(x, sd, p, act):
    s = x.mean((2, 3), keepdim=True)
    s = F.conv2d(s, sd[p + ".conv_reduce.weight"], sd[p + ".conv_reduce.bias"])
    s = F.conv2d(_act(s, act), sd[p + ".conv_expand.weight"], sd[p + ".conv_expand.bias"])
    return x * torch.sigmoid(s)


def _inverted_residual(x, sd, p, stride, act):
    y = _act(_bn(F.conv2d(x, sd[p + ".conv_pw.weight"]), sd, p + ".bn1"), act)
    y = _act(_bn(_dw(y, sd, p + ".conv_dw", stride), sd, p + ".bn2"), act)
    y = _se(y, sd, p + ".se", act)
    y = _bn(F.conv2d(y, sd[p + ".conv_pwl.weight"]), sd, p + ".bn3")
    return y + x if stride == 1 and y.shape == x.shape else y


@torch.no_grad()
def released_forward(sd: dict[str, torch.Tensor], table, x: torch.Tensor) -> torch.Tensor:
    x = F.silu(_bn(F.conv2d(x, sd["conv_stem.weight"], stride=2, padding=1), sd, "bn1"))
    for k, (kind, stride, act) in enumerate(table):
        p = f"blocks.{k}.0"
        if kind == "ds":
            y = _act(_bn(_dw(x, sd, p + ".conv_dw", stride), sd, p + ".bn1"), act)
            y = _se(y, sd, p + ".se", act)
            y = _bn(F.conv2d(y, sd[p + ".conv_pw.weight"]), sd, p + ".bn2")
            x = y + x if y.shape == x.shape and stride == 1 else y
        elif kind == "ir":
            x = _inverted_residual(x, sd, p, stride, act)
        else:  # mux: first half processed, second half passed, two-group shuffle
            half = int(x.shape[1] * 0.5)
            y = torch.cat([_inverted_residual(x[:, :half], sd, p, 1, act), x[:, half:]], dim=1)
            b, c, h, w = y.shape
            x = y.view(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h, w)
    x = F.silu(_bn(F.conv2d(x, sd["conv_head.weight"]), sd, "bn2"))
    return F.linear(x.mean((2, 3)), sd["classifier.weight"], sd["classifier.bias"])


def read_layout(path) -> dict[str, tuple[int, ...]]:
    """The key -> shape table of a released checkpoint (.tsv beside ARCHITECTURES.md)."""
    layout = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        key, shape = line.rstrip("\n").split("\t")
        layout[key] = tuple(int(v) for v in shape.strip("()").split(",") if v.strip())
    return layout


def random_released_state_dict(layout, seed=0) -> dict[str, torch.Tensor]:
    """Random weights in the released layout, with BN statistics away from identity so that errors show."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for key, shape in layout.items():
        if key.endswith("num_batches_tracked"):
            sd[key] = torch.tensor(0)
        elif key.endswith("running_var"):
            sd[key] = torch.rand(shape, generator=g) + 0.5
        elif key.endswith(("running_mean", ".bias")):
            sd[key] = torch.randn(shape, generator=g) * 0.1
        elif key.endswith(".weight") and len(shape) == 1:  # BN gamma
            sd[key] = torch.rand(shape, generator=g) + 0.5
        else:
            fan_in = max(1, int(torch.tensor(shape[1:]).prod()))
            sd[key] = torch.randn(shape, generator=g) / fan_in**0.5
    return sd
