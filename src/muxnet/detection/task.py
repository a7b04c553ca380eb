"""Detection as a training task: data (embedded scenes or VOC), SSD loss, VOC07/COCO evaluation, drawn predictions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..data.scenes import write_voc_scenes
from ..train.recipes import DenseModelSection, DenseRecipe, integer, number, section, setting, text
from ..train.tasks import SceneTask
from .models import parse_detector_name


def _plain(x: torch.Tensor) -> torch.Tensor:
    return x.as_subclass(torch.Tensor)


@dataclass(frozen=True)
class DetectionModelSection(DenseModelSection):
    """A detector (``<ssd|ssdlite>_<backbone>``) and the post-processing torchvision's ``SSD`` applies."""

    name: str = setting("ssdlite_muxnet_m", text(nonempty=True, says="must name a model"))
    score_thresh: float = setting(0.01, number(minimum=0, maximum=1))  # detections kept before NMS
    nms_thresh: float = setting(0.45, number(minimum=0, maximum=1))
    detections_per_img: int = setting(200, integer(minimum=1))


@dataclass(frozen=True)
class DetectionRecipe(DenseRecipe, kind="detect", datasets=("scenes", "voc")):
    """The schema of ``muxnet detect`` recipes (``scenes_ssdlite``, ``voc_ssdlite``, ``voc_ssd``)."""

    model: DetectionModelSection = section(DetectionModelSection)


class DetectionTask(SceneTask):
    """SSD/SSDLite detectors: multibox loss, VOC07 mAP, on the embedded scenes (a VOC tree) or on VOC."""

    schema, primary, default_recipes = DetectionRecipe, "voc07_map", ("scenes_ssdlite", "voc_ssdlite")
    split_model_name = staticmethod(parse_detector_name)
    write_scenes, layout = staticmethod(write_voc_scenes), "a directory holding VOCdevkit"

    def build_model(self, recipe: dict[str, Any], num_classes: int) -> nn.Module:
        from .models import create_detector

        m = recipe["model"]
        return create_detector(m["name"], num_classes, recipe["data"]["image_size"], m["backbone_weights"],
                               m["score_thresh"], m["detections_per_img"], m["nms_thresh"])

    def build_data(self, recipe: dict[str, Any], split: str, run_dir: Path | None) -> Dataset:
        from ..data.voc import TEST_SETS, TRAIN_SETS, VOCDetectionData, detection_transform

        data = recipe["data"]
        train = split == "train"
        return VOCDetectionData(self.data_root(recipe), TRAIN_SETS if train else TEST_SETS,
                                transform=detection_transform(data["augment"] if train else ()),
                                keep_difficult=not train, skip_bad_images=data["skip_bad_images"],
                                bad_log=run_dir / "bad_images.txt" if run_dir is not None else None)

    def collate(self, batch: list):
        from ..data.voc import detection_collate

        return detection_collate(batch)

    def loss(self, model: nn.Module, batch, device: torch.device) -> tuple[torch.Tensor, int]:
        images, targets = batch
        images = [_plain(im).to(device) for im in images]
        targets = [{"boxes": _plain(t["boxes"]).to(device), "labels": t["labels"].to(device)} for t in targets]
        losses = model(images, targets)
        return losses["bbox_regression"] + losses["classification"], len(images)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, dataset: Dataset, recipe: dict[str, Any],
                 device: torch.device) -> dict[str, Any]:
        from .metrics import DetectionMetrics

        model.eval()
        metrics = DetectionMetrics(dataset.num_classes, dataset.class_names)
        loader = DataLoader(dataset, batch_size=recipe["data"]["eval_batch_size"] or recipe["data"]["batch_size"],
                            num_workers=recipe["data"]["workers"], collate_fn=self.collate)
        for images, targets in loader:
            detections = model([_plain(im).to(device) for im in images])
            metrics.update(detections, [{**t, "boxes": _plain(t["boxes"])} for t in targets])
        model.train()
        return metrics.compute()


def draw_detections(image: torch.Tensor, detections: dict[str, torch.Tensor], class_names: list[str],
                    score_thresh: float = 0.3) -> torch.Tensor:
    """``image`` (uint8, 3 x H x W) with the detections above ``score_thresh`` drawn as labelled boxes."""
    from torchvision.utils import draw_bounding_boxes

    keep = detections["scores"] >= score_thresh
    labels = [f"{class_names[int(c) - 1]} {float(s):.2f}"
              for c, s in zip(detections["labels"][keep], detections["scores"][keep])]
    return draw_bounding_boxes(image, detections["boxes"][keep], labels=labels, colors="red", width=2)


def predict(run_dir: str | Path, images=(), output: str | Path = "detections", checkpoint: str | Path | None = None,
            score_thresh: float = 0.3) -> list[Path]:
    """Detect on ``images`` (default: the first test images of the run) and write each with its boxes drawn
    as ``<output>/<name>_detections.png``; returns the written paths."""
    from ..train.tasks import predict_images

    def draw(model, recipe, image, class_names):
        return draw_detections(image, model([image.float() / 255])[0], class_names, score_thresh)

    return predict_images(DetectionTask(), run_dir, images, output, checkpoint, "_detections", draw)


__all__ = ["DetectionModelSection", "DetectionRecipe", "DetectionTask", "draw_detections", "predict"]
