"""The ADE20K reader on tiny trees written by the scenes generator, then broken one file at a time."""

import numpy as np
import pytest
import torch
from PIL import Image

from muxnet.data.ade20k import IGNORE_INDEX, ADE20KSegmentationData, segmentation_transform
from muxnet.data.annotated import BadAnnotationError
from muxnet.data.scenes import SEGMENTATION_NAMES, write_ade20k_scenes
from scene_trees import tree_fixtures

scenes, tree = tree_fixtures(write_ade20k_scenes, "ADEChallengeData2016", train=4, test=2, size=64, seed=1)


def _mask(root, i=1):
    return root / "annotations" / "training" / f"ADE_train_{i:08d}.png"


def test_reads_images_and_shifted_labels(scenes):
    data = ADE20KSegmentationData(scenes, "train", segmentation_transform(64, train=False))
    assert len(data) == 4 and data.class_names == SEGMENTATION_NAMES
    image, mask = data[0]
    raw = np.asarray(Image.open(_mask(scenes)))
    assert image.shape == (3, 64, 64) and image.dtype == torch.float32
    assert mask.shape == (64, 64) and mask.dtype == torch.int64
    assert ((mask == IGNORE_INDEX) == torch.from_numpy(raw == 0)).all()  # 0 in the file is "ignored"
    assert (mask[raw == 1] == 0).all()  # file label 1 (background) is class 0
    assert set(mask.unique().tolist()) - {IGNORE_INDEX} <= set(range(11))
    assert len(ADE20KSegmentationData(scenes, "val")) == 2


def test_scale_crop_flip_keeps_image_and_mask_aligned(scenes):
    data = ADE20KSegmentationData(scenes, "train", segmentation_transform(48, train=True, augment=["scale", "flip"]))
    torch.manual_seed(0)
    image, mask = data[1]
    assert image.shape == (3, 48, 48) and mask.shape == (48, 48)
    # stroke pixels are brighter than the background they were pasted on
    strokes, background = mask >= 1, mask == 0
    if strokes.any() and background.any():
        assert image.mean(0)[strokes & (mask != IGNORE_INDEX)].mean() > image.mean(0)[background].mean()


@pytest.mark.parametrize("breakage, message", [
    (lambda p: p.unlink(), "mask is missing"),
    (lambda p: Image.fromarray(np.ones((32, 64), np.uint8)).save(p), "mask is 64x32 but its image is 64x64"),
    (lambda p: Image.fromarray(np.full((64, 64), 12, np.uint8)).save(p), "label 12 is above the 11 classes"),
])
def test_bad_masks_name_the_file_or_are_skipped_with_a_count(tree, breakage, message):
    breakage(_mask(tree))
    with pytest.raises(BadAnnotationError, match=message) as err:
        ADE20KSegmentationData(tree, "train")
    assert "ADE_train_00000001" in str(err.value)
    log = tree / "bad.txt"
    data = ADE20KSegmentationData(tree, "train", skip_bad_images=True, bad_log=log)
    assert len(data) == 3 and len(data.skipped) == 1 and "ADE_train_00000001" in log.read_text()


def test_a_folder_without_images_is_an_error(tree):
    for p in (tree / "images" / "validation").iterdir():
        p.unlink()
    with pytest.raises(BadAnnotationError, match="validation: holds no images"):
        ADE20KSegmentationData(tree, "val")
