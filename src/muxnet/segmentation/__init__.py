"""Semantic segmentation with MUXNet backbones: C1/PPM models, the confusion-matrix metrics and the task."""

from .models import create_segmenter, parse_segmenter_name

__all__ = ["create_segmenter", "parse_segmenter_name"]
