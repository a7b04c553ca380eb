"""Segmentation as a training task: data (embedded scenes or ADE20K), pixel-wise cross-entropy, confusion-matrix
evaluation, colour-coded predicted masks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset

from ..data.scenes import write_ade20k_scenes
from ..train.recipes import DenseModelSection, DenseRecipe, one_of, section, setting, text
from ..train.tasks import SceneTask
from .models import parse_segmenter_name


@dataclass(frozen=True)
class SegmentationModelSection(DenseModelSection):
    """A segmenter (``<c1|ppm>_<backbone>``) and the output stride its backbone is dilated to."""

    name: str = setting("ppm_muxnet_m", text(nonempty=True, says="must name a model"))
    output_stride: int = setting(8, one_of((8, 16, 32)))


@dataclass(frozen=True)
class SegmentationRecipe(DenseRecipe, kind="segment", datasets=("scenes", "ade20k")):
    """The schema of ``muxnet segment`` recipes (``scenes_c1``, ``ade20k_c1``, ``ade20k_ppm``)."""

    model: SegmentationModelSection = section(SegmentationModelSection)


class SegmentationTask(SceneTask):
    """C1/PPM segmenters trained with pixel-wise cross-entropy and selected on mean IoU, on the embedded scenes
    written in the ADE20K layout or on ADE20K itself."""

    schema, primary, default_recipes = SegmentationRecipe, "miou", ("scenes_c1", "ade20k_ppm")
    split_model_name = staticmethod(parse_segmenter_name)
    write_scenes, layout = staticmethod(write_ade20k_scenes), "the ADEChallengeData2016 directory"

    def build_model(self, recipe: dict[str, Any], num_classes: int) -> nn.Module:
        from .models import create_segmenter

        m = recipe["model"]
        return create_segmenter(m["name"], num_classes, m["output_stride"], m["backbone_weights"])

    def build_data(self, recipe: dict[str, Any], split: str, run_dir: Path | None) -> Dataset:
        from ..data.ade20k import ADE20KSegmentationData, segmentation_transform

        data = recipe["data"]
        train = split == "train"
        return ADE20KSegmentationData(self.data_root(recipe), "train" if train else "val",
                                      segmentation_transform(data["image_size"], train, data["augment"]),
                                      skip_bad_images=data["skip_bad_images"],
                                      bad_log=run_dir / "bad_images.txt" if run_dir is not None else None)

    def collate(self, batch: list):
        images, masks = zip(*batch)
        return torch.stack([im.as_subclass(torch.Tensor) for im in images]), \
            torch.stack([m.as_subclass(torch.Tensor) for m in masks])

    def loss(self, model: nn.Module, batch, device: torch.device) -> tuple[torch.Tensor, int]:
        from ..data.ade20k import IGNORE_INDEX

        images, masks = batch
        logits = model(images.to(device))
        return F.cross_entropy(logits, masks.to(device), ignore_index=IGNORE_INDEX), len(images)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, dataset: Dataset, recipe: dict[str, Any],
                 device: torch.device) -> dict[str, Any]:
        """Mean IoU and pixel accuracy as the SceneParsing benchmark computes them (CSAIL's ``eval.py``): each
        image's class scores upsampled (bilinear) to its annotation's original size, the argmax scored there, and
        intersections and unions summed over the whole set before dividing."""
        from ..data.ade20k import IGNORE_INDEX
        from .metrics import ConfusionMatrix

        model.eval()
        matrix = ConfusionMatrix(dataset.num_classes, IGNORE_INDEX, dataset.class_names)
        loader = DataLoader(dataset, batch_size=recipe["data"]["eval_batch_size"] or recipe["data"]["batch_size"],
                            num_workers=recipe["data"]["workers"], collate_fn=collate_for_scoring)
        for images, masks in loader:
            logits = model(images.to(device))
            for scores, mask in zip(logits, masks):
                full = F.interpolate(scores[None], size=mask.shape[-2:], mode="bilinear", align_corners=False)
                matrix.update(full[0].argmax(0).cpu(), mask)
        model.train()
        return {**matrix.compute(), "count": len(dataset)}


def collate_for_scoring(batch: list) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Evaluation batches: the images (all resized to the network's input) stacked, the masks a list, each at its
    annotation's own size."""
    images, masks = zip(*batch)
    return torch.stack([im.as_subclass(torch.Tensor) for im in images]), [m.as_subclass(torch.Tensor) for m in masks]


def palette(num_classes: int) -> torch.Tensor:
    """A fixed colour per class (``num_classes`` x 3 uint8), the same in every drawing."""
    g = torch.Generator().manual_seed(150)
    return torch.randint(40, 256, (num_classes, 3), generator=g, dtype=torch.uint8)


def colour_mask(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Class indices (H x W) -> a 3 x H x W uint8 picture; ignored pixels are black."""
    colours = torch.cat([palette(num_classes), torch.zeros(1, 3, dtype=torch.uint8)])
    index = torch.where((labels >= 0) & (labels < num_classes), labels, num_classes)
    return colours[index].permute(2, 0, 1)


def predict(run_dir: str | Path, images=(), output: str | Path = "masks", checkpoint: str | Path | None = None
            ) -> list[Path]:
    """Segment ``images`` (default: the first validation images of the run) and write, per image,
    ``<output>/<name>_mask.png``: the image beside its colour-coded predicted mask (as the paper's Fig. 14)."""
    from ..train.tasks import predict_images

    def draw(model, recipe, image, class_names):
        size = recipe["data"]["image_size"]
        x = F.interpolate(image[None].float() / 255, size=(size, size), mode="bilinear", align_corners=False)
        logits = F.interpolate(model(x), size=image.shape[-2:], mode="bilinear", align_corners=False)
        return torch.cat([image, colour_mask(logits[0].argmax(0), len(class_names))], dim=2)

    return predict_images(SegmentationTask(), run_dir, images, output, checkpoint, "_mask", draw)


__all__ = ["SegmentationModelSection", "SegmentationRecipe", "SegmentationTask", "collate_for_scoring", "colour_mask",
           "palette", "predict"]
