"""PASCAL VOC detection data: the ``VOCdevkit`` layout read through torchvision's VOC reader.

``root/VOCdevkit/VOC2007`` (and ``VOC2012``) with ``JPEGImages/<id>.jpg``, ``Annotations/<id>.xml`` and
``ImageSets/Main/<set>.txt``. The paper's split is "07+12": VOC2007 trainval plus VOC2012 trainval for training
(whichever of the two exist), VOC2007 test for testing. Class names are VOC's 20 unless
``VOCdevkit/classes.txt`` lists others (one per line; the embedded digit scenes use it).

Every annotation is checked when the dataset is built, so a bad file stops the run before training with one
error naming it (or, with ``skip_bad_images``, the image is left out, counted and listed in ``bad_log``):
a missing or malformed XML, a missing image, an image whose size differs from the XML's, an unknown class, or a
box with zero area or outside the image. "Difficult" objects are dropped from training targets (as the SSD
reference implementation does) and kept, flagged, in test targets, where the VOC metric ignores them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import torch

from .annotated import AnnotatedImages, BadAnnotationError, read_rgb

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor")
TRAIN_SETS = (("2007", "trainval"), ("2012", "trainval"))
TEST_SETS = (("2007", "test"),)


@dataclass(frozen=True)
class VOCSample:
    image: Path
    boxes: torch.Tensor       # N x 4, x1 y1 x2 y2 in pixels (0-based corners)
    labels: torch.Tensor      # N, 1..num_classes (0 is the detector's background)
    difficult: torch.Tensor   # N, bool


def voc_class_names(root: str | Path) -> tuple[str, ...]:
    listed = Path(root) / "VOCdevkit" / "classes.txt"
    if listed.is_file():
        names = tuple(line.strip() for line in listed.read_text().splitlines() if line.strip())
        if not names:
            raise BadAnnotationError(f"{listed}: lists no class names")
        return names
    return VOC_CLASSES


def _parse(xml_path: Path, image_path: Path, class_to_label: dict[str, int]) -> VOCSample:
    """One annotation file, validated against its image."""
    from PIL import Image
    from torchvision.datasets import VOCDetection

    if not xml_path.is_file():
        raise BadAnnotationError(f"{xml_path}: annotation file is missing")
    try:
        node = ET.parse(xml_path).getroot()
        ann = VOCDetection.parse_voc_xml(node)["annotation"]
    except ET.ParseError as err:
        raise BadAnnotationError(f"{xml_path}: malformed XML ({err})") from None
    if not image_path.is_file():
        raise BadAnnotationError(f"{image_path}: image is missing (named by {xml_path.name})")
    try:
        with Image.open(image_path) as im:
            width, height = im.size
    except Exception as err:
        raise BadAnnotationError(f"{image_path}: cannot read image ({type(err).__name__}: {err})") from None
    size = ann.get("size") or {}
    try:
        declared = int(size["width"]), int(size["height"])
    except (KeyError, TypeError, ValueError):
        raise BadAnnotationError(f"{xml_path}: no valid <size><width>/<height>") from None
    if declared != (width, height):
        raise BadAnnotationError(f"{xml_path}: says {declared[0]}x{declared[1]} but {image_path.name} is "
                                 f"{width}x{height}")
    objects = ann.get("object") or []
    if isinstance(objects, dict):
        objects = [objects]
    boxes, labels, difficult = [], [], []
    for i, obj in enumerate(objects):
        name = str(obj.get("name", "")).strip()
        if name not in class_to_label:
            raise BadAnnotationError(f"{xml_path}: object {i} has unknown class {name!r}")
        try:
            b = obj["bndbox"]
            x1, y1, x2, y2 = (float(b[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
        except (KeyError, TypeError, ValueError):
            raise BadAnnotationError(f"{xml_path}: object {i} ({name}) has no valid <bndbox>") from None
        if x2 <= x1 or y2 <= y1:
            raise BadAnnotationError(f"{xml_path}: object {i} ({name}) has a zero-area box "
                                     f"({x1:g}, {y1:g}, {x2:g}, {y2:g})")
        if x1 < 1 or y1 < 1 or x2 > width or y2 > height:
            raise BadAnnotationError(f"{xml_path}: object {i} ({name}) box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) lies "
                                     f"outside the {width}x{height} image")
        boxes.append((x1 - 1, y1 - 1, x2, y2))  # VOC's 1-based inclusive pixels -> 0-based corners
        labels.append(class_to_label[name])
        difficult.append(str(obj.get("difficult", "0")).strip() == "1")
    return VOCSample(image_path, torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                     torch.tensor(labels, dtype=torch.int64), torch.tensor(difficult, dtype=torch.bool))


class VOCDetectionData(AnnotatedImages):
    """Images and box targets of one or more ``(year, image_set)`` lists, as torchvision detection models take
    them: ``(image, {"boxes": BoundingBoxes, "labels", "difficult"})`` with the image a float tensor in [0, 1]."""

    def __init__(self, root: str | Path, image_sets: Sequence[tuple[str, str]], transform: Callable | None = None,
                 keep_difficult: bool = True, skip_bad_images: bool = False, bad_log: Path | None = None):
        from torchvision.datasets import VOCDetection

        self.root = Path(root)
        super().__init__(voc_class_names(self.root), transform, skip_bad_images, bad_log)
        class_to_label = {name: i + 1 for i, name in enumerate(self.class_names)}
        found = []
        for year, image_set in image_sets:
            if not (self.root / "VOCdevkit" / f"VOC{year}").is_dir():
                continue
            try:
                reader = VOCDetection(str(self.root), year=year, image_set=image_set, download=False)
            except (RuntimeError, ValueError, FileNotFoundError) as err:
                raise BadAnnotationError(f"{self.root}/VOCdevkit/VOC{year}: cannot read image set "
                                         f"{image_set!r} ({err})") from None
            found.append(f"VOC{year} {image_set}")
            for image, xml in zip(reader.images, reader.annotations):
                sample = self.admit(lambda: _parse(Path(xml), Path(image), class_to_label))  # noqa: B023
                if sample is None:
                    continue
                if not keep_difficult:
                    keep = ~sample.difficult
                    sample = VOCSample(sample.image, sample.boxes[keep], sample.labels[keep], sample.difficult[keep])
                self.samples.append(sample)
        if not found:
            wanted = ", ".join(f"VOC{y} {s}" for y, s in image_sets)
            raise BadAnnotationError(f"{self.root}: no VOCdevkit/VOC<year> folder for {wanted}")
        self.finish(f"{self.root} ({', '.join(found)})")

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, Any]]:
        from torchvision import tv_tensors

        sample = self.samples[index]
        image = tv_tensors.Image(read_rgb(sample.image))
        target = {"boxes": tv_tensors.BoundingBoxes(sample.boxes, format="XYXY", canvas_size=image.shape[-2:]),
                  "labels": sample.labels, "difficult": sample.difficult}
        if self.transform is not None:
            image, target = self.transform(image, target)
        return image, target


def detection_transform(augment: Sequence[str] = (), fill: Sequence[float] = (0.485, 0.456, 0.406)):
    """SSD's training augmentation from torchvision transforms v2, step by step as ``augment`` lists them
    (``photometric``, ``zoom_out``, ``iou_crop``, ``flip``); resizing and normalising happen in the model.
    Boxes that a crop leaves empty are removed with their labels."""
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    steps = {"photometric": lambda: v2.RandomPhotometricDistort(p=0.5),
             "zoom_out": lambda: v2.RandomZoomOut(fill={tv_tensors.Image: [round(255 * f) for f in fill],
                                                        "others": 0}, side_range=(1.0, 4.0), p=0.5),
             "iou_crop": lambda: v2.RandomIoUCrop(),
             "flip": lambda: v2.RandomHorizontalFlip(p=0.5)}
    unknown = [a for a in augment if a not in steps]
    if unknown:
        raise ValueError(f"data.augment: unknown step(s) {unknown}; choose from {sorted(steps)}")
    ops = [steps[a]() for a in augment]
    if "iou_crop" in augment or "zoom_out" in augment:
        ops.append(v2.SanitizeBoundingBoxes(labels_getter=lambda inputs: (inputs[1]["labels"],
                                                                          inputs[1]["difficult"])))
    ops.append(v2.ToDtype(torch.float32, scale=True))
    return v2.Compose(ops)


def detection_collate(batch: list) -> tuple[list[torch.Tensor], list[dict[str, Any]]]:
    """Detection batches are lists: images keep their own sizes until the model resizes them."""
    images, targets = zip(*batch)
    return list(images), list(targets)


__all__ = ["TEST_SETS", "TRAIN_SETS", "VOC_CLASSES", "BadAnnotationError", "VOCDetectionData", "VOCSample",
           "detection_collate", "detection_transform", "voc_class_names"]
