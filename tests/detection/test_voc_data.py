"""The VOC reader on tiny trees written by the scenes generator, then broken one file at a time."""

import pytest
import torch

from muxnet.data.scenes import DIGIT_NAMES, compose_scenes, write_voc_scenes
from muxnet.data.voc import TEST_SETS, TRAIN_SETS, BadAnnotationError, VOCDetectionData, detection_transform
from scene_trees import tree_fixtures

scenes, tree = tree_fixtures(write_voc_scenes, "copy", train=6, test=3, size=64, seed=1)


def _first(path, tag):
    text = path.read_text()
    return text[text.index(f"<{tag}>") + len(tag) + 2:text.index(f"</{tag}>")]


def _set_first(path, tag, value):
    text = path.read_text()
    path.write_text(text[:text.index(f"<{tag}>") + len(tag) + 2] + str(value) + text[text.index(f"</{tag}>"):])


def _xml(root, name="trainval_000000"):
    return root / "VOCdevkit" / "VOC2007" / "Annotations" / f"{name}.xml"


def test_scenes_are_seeded_and_boxes_cover_the_strokes():
    a, b = compose_scenes(3, 64, seed=5), compose_scenes(3, 64, seed=5)
    assert all((x.image == y.image).all() and x.boxes == y.boxes for x, y in zip(a, b))
    assert not (compose_scenes(1, 64, seed=6)[0].image == a[0].image).all()
    for scene in a:
        for x1, y1, x2, y2, digit in scene.boxes:
            inside = scene.mask[y1 - 1:y2, x1 - 1:x2]
            assert (inside == digit + 2).any()  # the digit's stroke pixels lie in its box


def test_scene_parameters_bound_digits_per_canvas_and_their_sides(tmp_path):
    scenes = compose_scenes(20, 64, max_digits=2, digit_sizes=(20, 24), seed=2)
    assert all(1 <= len(s.boxes) <= 2 for s in scenes) and any(len(s.boxes) == 2 for s in scenes)
    sides = [max(x2 - x1, y2 - y1) + 1 for s in scenes for x1, y1, x2, y2, _ in s.boxes]
    assert max(sides) <= 24 and min(sides) >= 10  # tight boxes of the strokes inside a 20-24 pixel square
    with pytest.raises(ValueError, match="digit_sizes"):
        compose_scenes(1, 64, digit_sizes=(30, 80))
    with pytest.raises(ValueError, match="max_digits"):
        compose_scenes(1, 64, max_digits=0)
    # the written tree's name carries every parameter, so trees of different scenes never mix
    root = write_voc_scenes(tmp_path, train=2, test=1, size=64, seed=0, max_digits=2, digit_sizes=(20, 24))
    assert root.name == "scenes-voc-n2-1_s64_d2x20-24_seed0"


def test_reads_the_splits_with_class_names_and_boxes(scenes):
    train = VOCDetectionData(scenes, TRAIN_SETS, detection_transform(()), keep_difficult=False)
    test = VOCDetectionData(scenes, TEST_SETS, detection_transform(()))
    assert (len(train), len(test)) == (6, 3)
    assert train.class_names == DIGIT_NAMES
    image, target = train[0]
    assert image.dtype == torch.float32 and image.shape == (3, 64, 64) and 0 <= image.min() <= image.max() <= 1
    boxes = target["boxes"]
    assert len(boxes) >= 1 and (boxes[:, 2:] > boxes[:, :2]).all() and boxes.max() <= 64
    assert target["labels"].min() >= 1 and target["labels"].max() <= 10


def test_ssd_augmentation_keeps_boxes_and_labels_paired(scenes):
    data = VOCDetectionData(scenes, TRAIN_SETS, detection_transform(["photometric", "zoom_out", "iou_crop", "flip"]))
    torch.manual_seed(3)
    for i in range(len(data)):
        image, target = data[i]
        assert len(target["boxes"]) == len(target["labels"]) == len(target["difficult"])
        h, w = image.shape[-2:]
        assert (target["boxes"][:, 2] <= w).all() and (target["boxes"][:, 3] <= h).all()


@pytest.mark.parametrize("breakage, message", [
    (lambda p: p.unlink(), "annotation file is missing"),
    (lambda p: p.write_text("<annotation><object>"), "malformed XML"),
    (lambda p: _set_first(p, "xmax", _first(p, "xmin")), "zero-area box"),
    (lambda p: p.write_text(p.read_text().replace("<width>64</width>", "<width>65</width>")), "says 65x64"),
    (lambda p: p.write_text(p.read_text().replace("</name>", "x</name>", 1)), "unknown class"),
])
def test_bad_annotations_name_the_file_or_are_skipped_with_a_count(tree, breakage, message):
    breakage(_xml(tree))
    with pytest.raises(BadAnnotationError, match=message) as err:
        VOCDetectionData(tree, TRAIN_SETS)
    assert "trainval_000000" in str(err.value)
    log = tree / "bad.txt"
    data = VOCDetectionData(tree, TRAIN_SETS, skip_bad_images=True, bad_log=log)
    assert len(data) == 5 and len(data.skipped) == 1
    assert "trainval_000000" in log.read_text()


def test_a_box_outside_the_image_is_an_error(tree):
    _set_first(_xml(tree), "xmax", 90)
    with pytest.raises(BadAnnotationError, match="outside the 64x64 image"):
        VOCDetectionData(tree, TRAIN_SETS)


def test_missing_layout_and_empty_sets_are_errors(tmp_path, tree):
    with pytest.raises(BadAnnotationError, match="no VOCdevkit"):
        VOCDetectionData(tmp_path, TRAIN_SETS)
    (tree / "VOCdevkit" / "VOC2007" / "ImageSets" / "Main" / "trainval.txt").write_text("")
    with pytest.raises(BadAnnotationError, match="no usable images"):
        VOCDetectionData(tree, TRAIN_SETS)
