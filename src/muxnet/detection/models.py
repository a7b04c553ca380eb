"""SSD and SSDLite detectors on any timm-registered backbone (our zoo included), built from torchvision's parts.

Following the SSDLite paper (MobileNetV2, Sandler et al. 2018), which the MUXNet paper follows for its detection
heads: the first prediction layer sits on the backbone's stride-16 feature (the expansion layer of the block that
downsamples to stride 32), the second on its stride-32 feature after the final 1x1 conv (``conv_head``, the
classifier's feature layer), and four extra layers halve the
resolution down to 1x1 (at 300x300: 19, 10, 5, 3, 2, 1). The extra layers are depthwise-separable for SSDLite
(1x1 -> depthwise 3x3 stride 2 -> 1x1, ReLU6) and standard convolutions for SSD (1x1 -> 3x3 stride 2, ReLU). Their
widths are each framework's reference: 512, 256, 256, 128 for SSDLite (torchvision's ``ssdlite320`` and the
TensorFlow Object Detection API's SSDLite), 512, 256, 256, 256 for SSD (SSD300's conv8_2..conv11_2 and
MobileNet-SSD, as torchvision's ``ssd300_vgg16``).
The prediction heads, default boxes (6 per location: ratios 1, 2, 3 and their inverses, plus the geometric-mean
scale; scales 0.2-0.95), matching, box coding, hard-negative mining, losses and the post-processing are
torchvision's ``SSD``, ``SSDLiteHead``/``SSDHead`` and ``DefaultBoxGenerator``.

Names: ``ssdlite_<backbone>`` or ``ssd_<backbone>``, e.g. ``ssdlite_muxnet_m`` (the paper's 0.5B / 3.2M row),
``ssd_muxnet_l`` (1.4B / 9.9M) and the baseline ``ssdlite_mobilenetv2_100``.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial
from pathlib import Path

import torch
from torch import nn

FRAMEWORKS = ("ssdlite", "ssd")
EXTRA_CHANNELS = {"ssdlite": (512, 256, 256, 128), "ssd": (512, 256, 256, 256)}


def parse_detector_name(name: str) -> tuple[str, str]:
    """``"ssdlite_muxnet_m"`` -> ``("ssdlite", "muxnet_m")``."""
    from ..models.names import split_head_name

    return split_head_name(name, FRAMEWORKS, "detector", "ssdlite_muxnet_m")


def _extra_layer(cin: int, cout: int, separable: bool, norm: type[nn.Module]) -> nn.Sequential:
    mid = cout // 2
    if separable:
        act = partial(nn.ReLU6, inplace=True)
        return nn.Sequential(
            nn.Conv2d(cin, mid, 1, bias=False), norm(mid), act(),
            nn.Conv2d(mid, mid, 3, stride=2, padding=1, groups=mid, bias=False), norm(mid), act(),
            nn.Conv2d(mid, cout, 1, bias=False), norm(cout), act())
    return nn.Sequential(
        nn.Conv2d(cin, mid, 1, bias=False), norm(mid), nn.ReLU(inplace=True),
        nn.Conv2d(mid, cout, 3, stride=2, padding=1, bias=False), norm(cout), nn.ReLU(inplace=True))


def _expansion_node(net: nn.Module, stride16_module: str) -> str | None:
    """The graph node of the expansion (first 1x1 conv, BN, activation) of the block that downsamples
    ``stride16_module``'s output to stride 32, or None when that block has no expansion layer."""
    stage = stride16_module.split(".")
    if len(stage) != 2 or stage[0] != "blocks" or int(stage[1]) + 1 >= len(net.blocks):
        return None
    index = int(stage[1]) + 1
    block = net.blocks[index][0]
    if not hasattr(block, "conv_pw"):
        return None
    last = "act1" if isinstance(getattr(block, "act1", None), nn.Module) else "bn1"
    return f"blocks.{index}.0.{last}"


class SSDBackbone(nn.Module):
    """Feature maps for the SSD heads: the backbone's stride-16 map, its stride-32 map as the classifier pools it
    (after the final 1x1 conv ``conv_head`` where that comes before pooling), then the extra layers.
    ``out_channels`` lists the channels of each map, as torchvision's SSD expects.

    The stride-16 map is the output of the expansion layer of the next (downsampling) block, where the SSDLite
    paper (section 6.2) attaches its first prediction layer to MobileNetV2 and torchvision's
    ``ssdlite320_mobilenet_v3_large`` to MobileNetV3: that layer is expansion-ratio times wider than the block
    output. Backbones whose downsampling block has no expansion layer use the stride-16 block output. The two
    taps come from timm's FX feature extractor, so the backbone keeps its module names (and checkpoints load)."""

    def __init__(self, backbone: str, separable: bool, weights: str | Path | None = None):
        super().__init__()
        import timm
        from timm.models import create_feature_extractor, get_graph_node_names

        from .. import models as _  # noqa: F401  (registers our zoo with timm)

        net = timm.create_model(backbone)
        if weights:
            from ..models import load_checkpoint

            load_checkpoint(net, weights, reset_classifier=None)
        net.reset_classifier(0)
        info = net.feature_info if isinstance(net.feature_info, list) else net.feature_info.get_dicts()
        reductions = [f["reduction"] for f in info]
        if 16 not in reductions or 32 not in reductions:
            raise ValueError(f"{backbone}: SSD needs stride-16 and stride-32 features, it has strides {reductions}")
        stride16 = info[max(i for i, r in enumerate(reductions) if r == 16)]
        expansion = _expansion_node(net, stride16["module"])
        if expansion is not None:
            first, first_channels = expansion, net.blocks[int(expansion.split(".")[1])][0].conv_pw.out_channels
        else:
            first, first_channels = stride16["module"], stride16["num_chs"]
        # the stride-32 map is what the classifier pools: the last node before global pooling
        nodes = get_graph_node_names(net)[1]
        head = nodes[next(i for i, n in enumerate(nodes) if n.startswith("global_pool")) - 1]
        self.body = create_feature_extractor(net, {first: "stride16", head: "stride32"})
        norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.03)
        channels = [first_channels, net.num_features]
        extras = []
        for cout in EXTRA_CHANNELS["ssdlite" if separable else "ssd"]:
            extras.append(_extra_layer(channels[-1], cout, separable, norm))
            channels.append(cout)
        self.extras = nn.ModuleList(extras)
        self.out_channels = channels
        self.taps = (first, head)
        self.image_mean = list(net.pretrained_cfg.get("mean", (0.485, 0.456, 0.406)))
        self.image_std = list(net.pretrained_cfg.get("std", (0.229, 0.224, 0.225)))

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        features = self.body(x)
        maps = [features["stride16"], features["stride32"]]
        for layer in self.extras:
            maps.append(layer(maps[-1]))
        return OrderedDict((str(i), m) for i, m in enumerate(maps))


def create_detector(name: str = "ssdlite_muxnet_m", num_classes: int = 20, image_size: int = 300,
                    backbone_weights: str | Path | None = None, score_thresh: float = 0.01,
                    detections_per_img: int = 200, nms_thresh: float = 0.45):
    """A torchvision ``SSD`` for ``num_classes`` object classes (plus background, label 0).

    ``backbone_weights`` is an ImageNet checkpoint of the backbone (any layout ``muxnet.load_checkpoint``
    reads); the classifier is dropped. Images of any size are resized to ``image_size`` x ``image_size`` and
    normalised with the backbone's mean/std inside the model.
    """
    from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
    from torchvision.models.detection.ssd import SSD, SSDHead
    from torchvision.models.detection.ssdlite import SSDLiteHead

    framework, backbone_name = parse_detector_name(name)
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    backbone = SSDBackbone(backbone_name, separable=framework == "ssdlite", weights=backbone_weights)
    anchors = DefaultBoxGenerator([[2, 3] for _ in backbone.out_channels], min_ratio=0.2, max_ratio=0.95)
    per_location = anchors.num_anchors_per_location()
    if framework == "ssdlite":
        head = SSDLiteHead(backbone.out_channels, per_location, num_classes + 1,
                           partial(nn.BatchNorm2d, eps=0.001, momentum=0.03))
    else:
        head = SSDHead(backbone.out_channels, per_location, num_classes + 1)
    model = SSD(backbone, anchors, (image_size, image_size), num_classes + 1, image_mean=backbone.image_mean,
                image_std=backbone.image_std, head=head, score_thresh=score_thresh,
                detections_per_img=detections_per_img, nms_thresh=nms_thresh, topk_candidates=400)
    model.name = name
    return model


class _DenseForward(nn.Module):
    """Backbone and heads on a batch tensor: the part of a detector that the paper's MAdds count (resizing,
    box decoding and NMS are not multiply-adds of layers)."""

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.detector = detector

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.detector.head(list(self.detector.backbone(x).values()))
        return out["bbox_regression"]


def profile_detector(model: nn.Module, image_size: int = 300):
    """Params and MAdds of a detector for one ``image_size`` x ``image_size`` image (``muxnet.Profile``)."""
    from ..profiling import profile

    was_training = model.training
    model.eval()
    try:
        return profile(_DenseForward(model), (3, image_size, image_size))
    finally:
        model.train(was_training)


__all__ = ["FRAMEWORKS", "SSDBackbone", "create_detector", "parse_detector_name", "profile_detector"]
