"""The network class (timm's model surface) and :func:`build_model`, the one builder from spec to module."""

from __future__ import annotations

import math
from typing import Any

import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import SelectAdaptivePool2d
from torch import nn
from torch.nn import functional as F

from ..layers.activations import create_activation
from ..layers.spatial_multiplexing import SpatialMultiplexConv
from .blocks import create_block
from .spec import NetworkSpec


def default_pretrained_cfg(spec: NetworkSpec, **overrides: Any) -> dict[str, Any]:
    """The data config timm's ``resolve_data_config`` reads: input size, crop, interpolation, mean/std."""
    cfg = {
        "architecture": spec.name,
        "input_size": tuple(spec.input_size),
        "interpolation": "bicubic",
        "crop_pct": 0.875,
        "crop_mode": "center",
        "mean": IMAGENET_DEFAULT_MEAN,
        "std": IMAGENET_DEFAULT_STD,
        "num_classes": spec.num_classes,
        "first_conv": "conv_stem",
        "classifier": "classifier",
        "pool_size": tuple(max(1, s // 32) for s in spec.input_size[1:]),
    }
    cfg.update(overrides)
    return cfg


def init_weights_goog(module: nn.Module) -> None:
    """TF/"goog" initialisation of the MnasNet/EfficientNet/MUXNet releases.

    Conv weights ~ N(0, sqrt(2 / fan_out)) with fan_out = k*k*out/groups; BN to identity; linear weights
    ~ U(+-1/sqrt(out_features)).
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            bound = 1.0 / math.sqrt(m.weight.size(0))
            nn.init.uniform_(m.weight, -bound, bound)
            nn.init.zeros_(m.bias)


class MuxNet(nn.Module):
    """A MUXNet/MixNet-family classifier built from a :class:`NetworkSpec`.

    Layout (the same as timm's EfficientNet, hence the same state_dict keys): ``conv_stem``, ``bn1``,
    ``blocks[stage][block]``, ``conv_head``, ``bn2``, ``global_pool``, ``classifier``. The methods
    ``forward_features``, ``forward_head``, ``get_classifier``, ``reset_classifier`` and the attributes
    ``num_classes``, ``num_features``, ``feature_info``, ``pretrained_cfg`` follow timm's conventions, so the
    model plugs into timm's data, training and feature-extraction utilities.
    """

    def __init__(self, spec: NetworkSpec, pretrained_cfg: dict[str, Any] | None = None):
        super().__init__()
        self.spec = spec
        self.num_classes = spec.num_classes
        self.drop_rate = spec.drop_rate
        self.grad_checkpointing = False

        self.conv_stem = nn.Conv2d(spec.in_channels, spec.stem_channels, 3, stride=spec.stem_stride, padding=1,
                                   bias=False)
        self.bn1 = nn.BatchNorm2d(spec.stem_channels)
        self.act1 = create_activation(spec.stem_activation)

        stages: list[list[nn.Module]] = [[] for _ in spec.stages]
        self.feature_info: list[dict[str, Any]] = []
        for block in spec.blocks():
            stages[block.stage].append(create_block(block))
        self.blocks = nn.Sequential(*[nn.Sequential(*stage) for stage in stages])
        reduction = spec.stem_stride
        for s, stage in enumerate(spec.stages):
            reduction *= math.prod(b.stride for b in stage)
            self.feature_info.append({"stage": s, "reduction": reduction, "module": f"blocks.{s}",
                                      "num_chs": stage[-1].out_channels})

        last = spec.stages[-1][-1].out_channels
        if spec.head_channels:
            self.conv_head = nn.Conv2d(last, spec.head_channels, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(spec.head_channels)
            self.act2 = create_activation(spec.head_activation)
        else:
            self.conv_head, self.bn2, self.act2 = nn.Identity(), nn.Identity(), nn.Identity()
        self.num_features = self.head_hidden_size = spec.num_features
        self.global_pool = SelectAdaptivePool2d(pool_type="avg", flatten=True)
        self.classifier = nn.Linear(self.num_features, spec.num_classes) if spec.num_classes else nn.Identity()

        self.pretrained_cfg = pretrained_cfg or default_pretrained_cfg(spec)
        self.default_cfg = self.pretrained_cfg
        for name, m in self.named_modules():
            if isinstance(m, SpatialMultiplexConv):
                m.layer_name = f"{name} ({m.layer_name})"
        init_weights_goog(self)

    # -- timm surface --------------------------------------------------------------------------------------------
    def block_names(self) -> list[str]:
        """Module paths of every block in order (``blocks.<stage>.<index>``), the unit of checkpoint mapping."""
        return [f"blocks.{s}.{i}" for s, stage in enumerate(self.blocks) for i in range(len(stage))]

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False) -> dict[str, Any]:
        return {"stem": r"^conv_stem|bn1", "blocks": r"^blocks\.(\d+)" if coarse else r"^blocks\.(\d+)\.(\d+)"}

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True) -> None:
        self.grad_checkpointing = enable

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.classifier

    def reset_classifier(self, num_classes: int, global_pool: str = "avg") -> None:
        """Replace the classifier (e.g. for fine-tuning on a new label set); 0 removes it."""
        self.num_classes = num_classes
        self.global_pool = SelectAdaptivePool2d(pool_type=global_pool, flatten=True)
        self.classifier = nn.Linear(self.num_features, num_classes) if num_classes else nn.Identity()
        if num_classes:
            init_weights_goog(self.classifier)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act1(self.bn1(self.conv_stem(x)))
        if self.grad_checkpointing and not torch.jit.is_scripting():
            from timm.models import checkpoint_seq

            x = checkpoint_seq(self.blocks, x, flatten=True)
        else:
            x = self.blocks(x)
        return self.act2(self.bn2(self.conv_head(x)))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.global_pool(x)
        if self.drop_rate > 0.0:
            x = F.dropout(x, p=self.drop_rate, training=self.training)
        return x if pre_logits else self.classifier(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def build_model(spec: NetworkSpec, pretrained_cfg: dict[str, Any] | None = None) -> MuxNet:
    """The builder: a validated spec in, an initialised :class:`MuxNet` out."""
    if not isinstance(spec, NetworkSpec):
        raise TypeError(f"build_model expects a NetworkSpec, got {type(spec).__name__}")
    return MuxNet(spec, pretrained_cfg)
