"""Class activation maps: CAM (Zhou et al., CVPR 2016) and Grad-CAM (Selvaraju et al., ICCV 2017).

CAM needs a classifier that is linear on globally average-pooled features, as every muxnet model has:
with f_k(x, y) the final feature maps (``forward_features``) and w_k^c the classifier's weights for class c,
M_c(x, y) = sum_k w_k^c f_k(x, y), and the class score is mean_xy M_c(x, y) + b_c. Grad-CAM weights the same
features by their pooled gradients and comes from the maintained ``grad-cam`` package. Both maps are returned
upsampled (bilinear) to the input size and scaled to [0, 1] (min-max; a constant map becomes all zeros).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

METHODS = ("cam", "gradcam")


def classifier_of(model: nn.Module) -> nn.Linear:
    """The model's final linear layer; a model without one (``num_classes=0``) has no class maps."""
    get = getattr(model, "get_classifier", None)
    head = get() if get is not None else None
    if not isinstance(head, nn.Linear):
        raise ValueError(f"{type(model).__name__} has no linear classifier (got {type(head).__name__}): class "
                         "activation maps need class weights")
    return head


def check_classes(model: nn.Module, classes: Sequence[int]) -> None:
    num = classifier_of(model).out_features
    bad = [c for c in classes if not 0 <= int(c) < num]
    if bad:
        raise ValueError(f"class index {bad[0]} is out of range for a model with {num} classes (0..{num - 1})")


def normalize_map(maps: torch.Tensor) -> torch.Tensor:
    """Scale each map of a B x H x W batch to [0, 1] (min-max); constant maps become zeros."""
    flat = maps.flatten(1)
    low, high = flat.min(dim=1).values, flat.max(dim=1).values
    span = (high - low).clamp_min(1e-12)
    out = (maps - low[:, None, None]) / span[:, None, None]
    return torch.where((high - low)[:, None, None] > 1e-12, out, torch.zeros_like(out))


@torch.no_grad()
def raw_class_activation_map(model: nn.Module, images: torch.Tensor, classes: Sequence[int]) -> torch.Tensor:
    """M_c at the feature resolution (B x h x w), unnormalised: its spatial mean plus the bias is the logit."""
    check_classes(model, classes)
    head = classifier_of(model)
    features = model.forward_features(images)  # type: ignore[operator]
    weights = head.weight[torch.as_tensor(list(classes), device=images.device)]  # B x C
    return torch.einsum("bchw,bc->bhw", features, weights)


def class_activation_map(model: nn.Module, images: torch.Tensor, classes: Sequence[int]) -> np.ndarray:
    """CAM of ``classes[i]`` on ``images[i]``: B x H x W in [0, 1] at the input size."""
    model.eval()
    raw = raw_class_activation_map(model, images, classes)
    up = F.interpolate(raw[:, None], size=images.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    return normalize_map(up).cpu().numpy()


def feature_layer(model: nn.Module) -> nn.Module:
    """The layer whose output ``forward_features`` returns: the head's activation, or the last block."""
    act = getattr(model, "act2", None)
    if act is not None and not isinstance(act, nn.Identity):
        return act
    blocks = getattr(model, "blocks", None)
    if blocks is None:
        raise ValueError(f"cannot find the final feature layer of {type(model).__name__}")
    return blocks[-1]


def grad_cam(model: nn.Module, images: torch.Tensor, classes: Sequence[int]) -> np.ndarray:
    """Grad-CAM of ``classes[i]`` on ``images[i]`` (the ``grad-cam`` package): B x H x W in [0, 1]."""
    check_classes(model, classes)
    try:
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    except ImportError as err:
        raise RuntimeError("Grad-CAM needs the grad-cam package: pip install 'muxnet[robustness]'") from err
    model.eval()
    with GradCAM(model=model, target_layers=[feature_layer(model)]) as cam:
        maps = cam(input_tensor=images, targets=[ClassifierOutputTarget(int(c)) for c in classes])
    return np.clip(np.asarray(maps, dtype=np.float32), 0.0, 1.0)


def activation_maps(model: nn.Module, images: torch.Tensor, classes: Sequence[int], method: str) -> np.ndarray:
    if method == "cam":
        return class_activation_map(model, images, classes)
    if method == "gradcam":
        return grad_cam(model, images, classes)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def overlay(image: np.ndarray, heat: np.ndarray, image_weight: float = 0.5) -> np.ndarray:
    """``heat`` (H x W in [0, 1]) over ``image`` (H x W x 3 uint8) as a jet heat-map: H x W x 3 uint8."""
    from pytorch_grad_cam.utils.image import show_cam_on_image

    return show_cam_on_image(image.astype(np.float32) / 255.0, heat.astype(np.float32), use_rgb=True,
                             image_weight=image_weight)


__all__ = ["METHODS", "activation_maps", "check_classes", "class_activation_map", "classifier_of", "feature_layer",
           "grad_cam", "normalize_map", "overlay", "raw_class_activation_map"]
