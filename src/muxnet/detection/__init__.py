"""Object detection with MUXNet backbones: SSD/SSDLite models, the VOC metrics and the training task."""

from .models import SSDBackbone, create_detector, parse_detector_name, profile_detector

__all__ = ["SSDBackbone", "create_detector", "parse_detector_name", "profile_detector"]
