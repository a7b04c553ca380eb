"""Params and MAdds of the detection and segmentation models next to the MUXNet paper's Table 2 / Table 6.

Detectors are counted at 300x300 for the 20 VOC classes (backbone + extra layers + prediction heads; resizing,
box decoding and NMS are not layer multiply-adds). For segmentation the paper reports the backbone alone, as an
ImageNet classifier at 224x224; the full C1/PPM models on a dilated (output stride 8) backbone at 512x512 are
listed below it for scale.

    PYTHONPATH=src python benchmarks/dense_counts.py
"""

from __future__ import annotations

import torch

from muxnet import profile
from muxnet.detection import create_detector, profile_detector
from muxnet.segmentation import create_segmenter

DETECTORS = (("ssdlite_muxnet_m", 3.2e6, 0.5e9), ("ssd_muxnet_l", 9.9e6, 1.4e9),
             ("ssdlite_mobilenetv2_100", 3.4e6, 0.7e9), ("ssd_mobilenetv2_100", 8.9e6, 1.4e9))
BACKBONES = (("muxnet_m", 3.4e6, 0.2e9), ("mobilenetv2_100", 3.5e6, 0.3e9))


def main() -> None:
    torch.set_num_threads(1)
    print("| detector (VOC, 300x300) | params | paper | ratio | MAdds | paper | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, params, madds in DETECTORS:
        c = profile_detector(create_detector(name, num_classes=20), 300)
        print(f"| {name} | {c.params / 1e6:.2f}M | {params / 1e6:.1f}M | {c.params / params:.2f} | "
              f"{c.madds / 1e9:.2f}B | {madds / 1e9:.1f}B | {c.madds / madds:.2f} |")
    print()
    print("| segmentation backbone (ImageNet classifier, 224x224) | params | paper | MAdds | paper |")
    print("|---|---:|---:|---:|---:|")
    import timm

    for name, params, madds in BACKBONES:
        c = profile(timm.create_model(name), (3, 224, 224))
        print(f"| {name} | {c.params / 1e6:.2f}M | {params / 1e6:.1f}M | {c.madds / 1e9:.3f}B | {madds / 1e9:.1f}B |")
    print()
    print("| ADE20K model (150 classes, output stride 8, 512x512) | params | MAdds |")
    print("|---|---:|---:|")
    for head in ("c1", "ppm"):
        for backbone, _, _ in BACKBONES:
            c = profile(create_segmenter(f"{head}_{backbone}", 150, output_stride=8), (3, 512, 512))
            print(f"| {head}_{backbone} | {c.params / 1e6:.2f}M | {c.madds / 1e9:.2f}B |")


if __name__ == "__main__":
    main()
