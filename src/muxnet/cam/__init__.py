"""Class activation maps (CAM, Grad-CAM), their overlays, and how often they hit ground-truth boxes."""

from .boxes import (
    POINTING_TOLERANCE,
    Box,
    aggregate,
    box_scores,
    mask_iou,
    pointing_chance,
    pointing_hit,
    read_bbox_list,
)
from .localization import CamConfig, format_hits, run_cam
from .maps import activation_maps, class_activation_map, grad_cam, normalize_map, overlay, raw_class_activation_map

__all__ = ["POINTING_TOLERANCE", "Box", "CamConfig", "activation_maps", "aggregate", "box_scores",
           "class_activation_map", "format_hits", "grad_cam", "mask_iou", "normalize_map", "overlay", "pointing_chance",
           "pointing_hit", "raw_class_activation_map", "read_bbox_list", "run_cam"]
