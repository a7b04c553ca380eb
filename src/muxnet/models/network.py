"""The network class (timm's model surface) and :func:`build_model`, the one builder from spec to module.

No ``from __future__ import annotations`` here: FX writes ``forward``'s annotations into the code it generates,
and TorchScript can compile that code only when they are types, not strings.
"""

import math
from typing import Any

import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import SelectAdaptivePool2d
from timm.models import checkpoint_seq
from timm.models._features import feature_take_indices
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

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


def feature_taps(spec: NetworkSpec) -> list[tuple[int, int]]:
    """``(stage, index)`` of the blocks whose outputs are the features: the last block at each output stride.

    The same places timm's EfficientNet taps (before every stride change, and the last block), so
    ``feature_info`` has one entry per resolution whatever the stage layout, e.g. MobileNetV2's two stride-16
    stages give one stride-16 feature and MobileNetV1's single stage still gives five. The stem's stride moves
    every reduction but no tap, so the taps depend on the stages alone.
    """
    blocks = list(spec.blocks())
    return [(b.stage, b.index) for b, after in zip(blocks, blocks[1:] + [None]) if after is None or after.stride > 1]


def classifier_head(num_features: int, num_classes: int, global_pool: str) -> tuple[SelectAdaptivePool2d, nn.Module]:
    """Global pooling and the linear classifier after it, as timm's ``create_classifier`` pairs them.

    ``global_pool=""`` passes the feature map through unpooled and unflattened (4-D), which only makes sense
    without a classifier; a pool type flattens to ``(B, num_features * feat_mult)``.
    """
    if not global_pool and num_classes:
        raise ValueError(f"global_pool='' leaves the features unpooled, so num_classes must be 0, got {num_classes}")
    pool = SelectAdaptivePool2d(pool_type=global_pool, flatten=bool(global_pool))
    classifier = nn.Linear(num_features * pool.feat_mult(), num_classes) if num_classes else nn.Identity()
    return pool, classifier


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
    ``forward_features``, ``forward_head``, ``forward_intermediates``, ``prune_intermediate_layers``,
    ``get_classifier``, ``reset_classifier`` and the attributes ``num_classes``, ``num_features``,
    ``head_hidden_size``, ``feature_info``, ``pretrained_cfg`` keep timm's contract (see docs/architectures.md),
    so the model plugs into timm's data, training and feature-extraction utilities.

    ``global_pool`` is the head's pooling (timm's names: ``"avg"``, ``"max"``, ``"avgmax"``, ``"catavgmax"``;
    ``""`` for none, only with ``num_classes=0``); it is not part of the spec because it changes no weights.
    """

    def __init__(self, spec: NetworkSpec, pretrained_cfg: dict[str, Any] | None = None, global_pool: str = "avg"):
        super().__init__()
        self.spec = spec
        self.num_classes = spec.num_classes
        self.in_chans = spec.in_channels
        self.drop_rate = spec.drop_rate
        self.grad_checkpointing = False

        self.conv_stem = nn.Conv2d(spec.in_channels, spec.stem_channels, 3, stride=spec.stem_stride, padding=1,
                                   bias=False)
        self.bn1 = nn.BatchNorm2d(spec.stem_channels)
        self.act1 = create_activation(spec.stem_activation)

        stages: list[list[nn.Module]] = [[] for _ in spec.stages]
        taps: dict[tuple[int, int], tuple[int, int]] = {}  # (stage, index) -> (reduction, out channels)
        reduction = spec.stem_stride
        for block in spec.blocks():
            stages[block.stage].append(create_block(block))
            reduction *= block.stride
            taps[block.stage, block.index] = reduction, block.spec.out_channels
        self.blocks = nn.Sequential(*[nn.Sequential(*stage) for stage in stages])
        # a tap at the end of its stage is named by the stage, which timm's FeatureListNet can reach
        self.feature_blocks = feature_taps(spec)
        self.feature_info: list[dict[str, Any]] = [
            {"stage": s, "reduction": taps[s, i][0], "num_chs": taps[s, i][1],
             "module": f"blocks.{s}" if i == len(stages[s]) - 1 else f"blocks.{s}.{i}"}
            for s, i in self.feature_blocks
        ]

        last = spec.stages[-1][-1].out_channels
        if spec.head_channels:
            self.conv_head = nn.Conv2d(last, spec.head_channels, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(spec.head_channels)
            self.act2 = create_activation(spec.head_activation)
        else:
            self.conv_head, self.bn2, self.act2 = nn.Identity(), nn.Identity(), nn.Identity()
        self.num_features = spec.num_features
        self.global_pool, self.classifier = classifier_head(self.num_features, spec.num_classes, global_pool)
        self.head_hidden_size = self.num_features * self.global_pool.feat_mult()

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

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        """Replace the classifier (e.g. for fine-tuning on a new label set); 0 removes it.

        ``global_pool``: ``None`` keeps the current pooling; ``""`` removes it too (with ``num_classes=0``), so
        ``forward`` returns the unpooled ``(B, num_features, H/32, W/32)`` map, as timm's models do.
        """
        if global_pool is None:
            global_pool = self.global_pool.pool_type
        self.global_pool, self.classifier = classifier_head(self.num_features, num_classes, global_pool)
        self.num_classes = num_classes
        self.head_hidden_size = self.num_features * self.global_pool.feat_mult()
        if num_classes:
            init_weights_goog(self.classifier)
        self.global_pool.train(self.training)
        self.classifier.train(self.training)

    def forward_intermediates(
        self,
        x: torch.Tensor,
        indices: int | list[int] | None = None,
        norm: bool = False,
        stop_early: bool = False,
        output_fmt: str = "NCHW",
        intermediates_only: bool = False,
    ) -> list[torch.Tensor] | tuple[torch.Tensor, list[torch.Tensor]]:
        """The features of ``feature_info`` (timm's intermediates API, what ``features_only`` wrappers call).

        Args:
            indices: which ``feature_info`` entries: ``None`` all, an int the last n, a list those (negative
                from the end).
            norm: timm's switch for a final norm applied to the intermediates; these models have none.
            stop_early: stop after the last block needed (the returned final map is then that block's output).
            intermediates_only: return only the list of features.

        Returns:
            ``(final, features)``: ``final`` is what ``forward_features`` returns when every block ran.
        """
        if output_fmt != "NCHW":
            raise ValueError(f"output_fmt must be 'NCHW' for a convolutional network, got {output_fmt!r}")
        if norm:
            raise ValueError("norm=True: these models have no final norm to apply to the intermediates")
        take_indices, max_index = feature_take_indices(len(self.feature_info), indices)
        wanted = {self.feature_blocks[i] for i in take_indices}
        last = self.feature_blocks[max_index]
        intermediates = []
        x = self.act1(self.bn1(self.conv_stem(x)))
        ran_all = True
        for s, stage in enumerate(self.blocks):
            for i, block in enumerate(stage):
                if stop_early and (s, i) > last:
                    ran_all = False
                    break
                x = checkpoint(block, x, use_reentrant=False) if self.grad_checkpointing else block(x)
                if (s, i) in wanted:
                    intermediates.append(x)
        if intermediates_only:
            return intermediates
        if ran_all:
            x = self.act2(self.bn2(self.conv_head(x)))
        return x, intermediates

    def prune_intermediate_layers(
        self, indices: int | list[int] = 1, prune_norm: bool = False, prune_head: bool = True
    ) -> list[int]:
        """Drop the blocks after the last feature in ``indices`` (and the head), for a features-only model.

        Returns the absolute ``feature_info`` indices kept, what ``forward_intermediates`` is then called with.
        ``prune_norm`` is timm's name for removing the final norm; here that is ``bn2`` of the head.
        """
        take_indices, max_index = feature_take_indices(len(self.feature_info), indices)
        last_stage, last_block = self.feature_blocks[max_index]
        truncated = (last_stage, last_block + 1) != (len(self.blocks) - 1, len(self.blocks[-1]))
        stages = list(self.blocks)[: last_stage + 1]
        stages[-1] = stages[-1][: last_block + 1]
        self.blocks = nn.Sequential(*stages)
        if prune_norm or prune_head or truncated:
            self.conv_head, self.bn2, self.act2 = nn.Identity(), nn.Identity(), nn.Identity()
            self.num_features = self.feature_info[max_index]["num_chs"]
            self.reset_classifier(0, "")
        return take_indices

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act1(self.bn1(self.conv_stem(x)))
        if self.grad_checkpointing and not torch.jit.is_scripting():
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


def build_model(spec: NetworkSpec, pretrained_cfg: dict[str, Any] | None = None, global_pool: str = "avg") -> MuxNet:
    """The builder: a validated spec in, an initialised :class:`MuxNet` out."""
    if not isinstance(spec, NetworkSpec):
        raise TypeError(f"build_model expects a NetworkSpec, got {type(spec).__name__}")
    return MuxNet(spec, pretrained_cfg, global_pool)
