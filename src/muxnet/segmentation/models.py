"""Semantic segmentation with MUXNet backbones: C1 and PPM heads (the MUXNet paper, appendix C.1).

The encoder is segmentation-models-pytorch's timm-universal encoder (``tu-<name>``), so any timm-registered
backbone works, our zoo included. The PPM model *is* smp's ``PSPNet`` (pyramid pooling over 1, 2, 3 and 6 bins
on the last feature, concatenated with it, a 512-channel fusion conv and a 3x3 classifier). smp has no C1, the
ADE20K baseline head of Zhou et al. (one 3x3 conv-BN-ReLU to a quarter of the channels, then a 1x1 classifier),
so :class:`C1Head` is written here.

``output_stride=8`` gives the dilated backbone the ADE20K baselines use: the strides of the last two stages'
downsampling convolutions are set to 1 and every later spatial convolution is dilated by 2 then 4, which keeps
the receptive field while the last feature stays at 1/8 of the input (our models, unlike timm's EfficientNets,
do not take an ``output_stride`` argument). ``output_stride=32`` keeps the plain backbone.

Names: ``c1_<backbone>`` and ``ppm_<backbone>``, e.g. ``c1_muxnet_m``, ``ppm_muxnet_m``, ``ppm_mobilenetv2_100``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

HEADS = ("c1", "ppm")


def parse_segmenter_name(name: str) -> tuple[str, str]:
    """``"ppm_muxnet_m"`` -> ``("ppm", "muxnet_m")``."""
    from ..models.names import split_head_name

    return split_head_name(name, HEADS, "segmentation model", "ppm_muxnet_m")


def dilate(module: nn.Module, example: torch.Tensor, output_stride: int) -> None:
    """Turn the last stride-2 convolutions of ``module`` (in execution order) into dilated stride-1 ones until
    its output stride is ``output_stride``; spatial convolutions after each change get a doubled dilation."""
    if output_stride not in (8, 16, 32):
        raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}")
    order: list[nn.Conv2d] = []
    handles = [m.register_forward_hook(lambda m, i, o: order.append(m)) for m in module.modules()
               if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        was_training = module.training
        module.eval()
        module(example)
        module.train(was_training)
    for h in handles:
        h.remove()
    # the parallel convolutions of one MixConv downsample together: group stride-2 convs by their parent module
    parents = {id(m): name.rpartition(".")[0] for name, m in module.named_modules()}
    groups: dict[str, list[int]] = {}
    for i, conv in enumerate(order):
        if conv.stride == (2, 2):
            groups.setdefault(parents[id(conv)], []).append(i)
    undo = {32: 0, 16: 1, 8: 2}[output_stride]
    if undo > len(groups):
        raise ValueError(f"the backbone downsamples only {len(groups)} times; cannot reach stride {output_stride}")
    changed = list(groups.values())[len(groups) - undo:]
    starts = [min(g) for g in changed]
    strided = {i for g in changed for i in g}
    seen: set[int] = set()
    for position, conv in enumerate(order):
        if id(conv) in seen:
            continue
        seen.add(id(conv))
        rate = 2 ** sum(position >= start for start in starts)
        if position in strided:
            conv.stride = (1, 1)
            rate //= 2  # the downsampling conv itself keeps the previous rate, as in DeepLab
        if rate > 1 and conv.kernel_size != (1, 1):
            conv.dilation = (rate, rate)
            conv.padding = (rate * (conv.kernel_size[0] - 1) // 2, rate * (conv.kernel_size[1] - 1) // 2)


class C1Head(nn.Module):
    """3x3 conv-BN-ReLU (C -> C/4) then a 1x1 classifier, on the last feature map."""

    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        mid = max(in_channels // 4, 16)
        self.conv = nn.Sequential(nn.Conv2d(in_channels, mid, 3, padding=1, bias=False), nn.BatchNorm2d(mid),
                                  nn.ReLU(inplace=True))
        self.classifier = nn.Conv2d(mid, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.conv(x))


class C1Net(nn.Module):
    """An smp encoder with the C1 head; logits are upsampled (bilinear) to the input size."""

    def __init__(self, encoder: nn.Module, num_classes: int):
        super().__init__()
        self.encoder = encoder
        self.head = C1Head(encoder.out_channels[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.head(self.encoder(x)[-1])
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)


def load_encoder_weights(features: nn.Module, backbone: str, path: str | Path) -> None:
    """Load a classifier checkpoint of ``backbone`` into its timm feature extractor ``features``.

    The checkpoint is read into the whole classifier first (so every layout ``muxnet.load_checkpoint`` knows
    works and a wrong checkpoint is refused by name); the feature extractor names a stage ``blocks_3`` where the
    classifier says ``blocks.3``, and lacks the layers after the last stage (``conv_head``, the classifier)."""
    import timm

    from ..models import load_checkpoint
    from ..models.checkpoint import CheckpointError

    net = timm.create_model(backbone)
    load_checkpoint(net, path, reset_classifier=None)
    own = features.state_dict()
    renamed = {}
    for key, value in net.state_dict().items():
        head, _, rest = key.partition(".")
        stage, _, inner = rest.partition(".")
        flat = f"{head}_{stage}.{inner}"
        if key in own or flat in own:
            renamed[key if key in own else flat] = value
    missing = sorted(set(own) - set(renamed))
    if missing:
        raise CheckpointError(f"checkpoint {path} does not fit the {backbone} feature extractor: missing "
                              f"{', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}")
    features.load_state_dict(renamed)


def create_segmenter(name: str = "ppm_muxnet_m", num_classes: int = 150, output_stride: int = 8,
                     backbone_weights: str | None = None) -> nn.Module:
    """A C1 or PPM segmentation model whose forward maps ``B x 3 x H x W`` images to ``B x classes x H x W``
    logits (H, W multiples of 32)."""
    import segmentation_models_pytorch as smp

    from .. import models as _  # noqa: F401  (registers our zoo with timm)

    head, backbone = parse_segmenter_name(name)
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    if head == "ppm":
        model = smp.PSPNet(encoder_name=f"tu-{backbone}", encoder_weights=None, encoder_depth=5,
                           psp_out_channels=512, classes=num_classes, upsampling=output_stride)
        encoder = model.encoder
    else:
        encoder = smp.encoders.get_encoder(f"tu-{backbone}", weights=None, depth=5)
        model = C1Net(encoder, num_classes)
    if backbone_weights:
        load_encoder_weights(encoder.model, backbone, backbone_weights)
    if output_stride != 32:
        dilate(encoder, torch.zeros(1, 3, 64, 64), output_stride)
    model.name = name
    model.output_stride = output_stride
    return model


__all__ = ["HEADS", "C1Head", "C1Net", "create_segmenter", "dilate", "load_encoder_weights", "parse_segmenter_name"]
