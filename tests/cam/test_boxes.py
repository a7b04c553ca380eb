import numpy as np
import pytest

from muxnet.cam.boxes import (
    POINTING_TOLERANCE,
    Box,
    aggregate,
    box_scores,
    mask_iou,
    peak,
    pointing_chance,
    pointing_hit,
    read_bbox_list,
    threshold_map,
)


def test_pointing_game_inside_the_box():
    heat = np.zeros((10, 10))
    heat[2, 7] = 1.0
    assert pointing_hit(heat, Box(6, 1, 3, 3), tolerance=0)      # columns 6-8, rows 1-3 hold (row 2, col 7)
    assert not pointing_hit(heat, Box(0, 0, 5, 5), tolerance=0)


def test_a_maximum_10_pixels_outside_the_box_is_a_hit_with_the_default_tolerance():
    """Box(20, 20, 20, 20) holds pixel columns and rows 20-39. A maximum at (row 30, column 49) is 10 pixels to its
    right: a hit within TorchRay's 15 pixels, a miss within 5; at column 55 it is 16 pixels away, a miss."""
    assert POINTING_TOLERANCE == 15
    box = Box(20, 20, 20, 20)
    heat = np.zeros((100, 100))
    heat[30, 49] = 1.0
    assert pointing_hit(heat, box) and not pointing_hit(heat, box, tolerance=5)
    heat[30, 55] = 2.0
    assert not pointing_hit(heat, box)
    heat[30, 40:55] = 0
    heat[20 - 10, 39 + 11] = 3.0   # 10 rows above and 11 columns right of the top-right corner: sqrt(221) < 15, a hit
    assert pointing_hit(heat, box)
    heat[20 - 11, 39 + 11] = 4.0   # sqrt(242) > 15: a miss
    assert not pointing_hit(heat, box)


def test_the_tolerance_is_in_pixels_of_the_original_image():
    """A 10 x 10 map of a 100 x 100 image: map cell (3, 4) covers original pixels 30-39 x 40-49, its centre is pixel
    (35, 45), 6 columns right of the box's last column 39: a hit; cell (3, 6) centres on column 65, 26 away."""
    box = Box(20, 20, 20, 20)
    heat = np.zeros((10, 10))
    heat[3, 4] = 1.0
    assert peak(heat, (100, 100)) == (35, 45)
    assert pointing_hit(heat, box, (100, 100)) and not pointing_hit(heat, box, (100, 100), tolerance=5)
    heat[3, 6] = 2.0
    assert not pointing_hit(heat, box, (100, 100))


def test_an_image_class_pair_is_scored_against_the_union_of_its_boxes():
    """Two boxes of one class, the maximum in the second: one hit for the pair (each box alone would give a hit
    and a miss); the chance level is the union's share of the image."""
    boxes = [Box(0, 0, 10, 10), Box(50, 50, 10, 10)]
    heat = np.zeros((100, 100))
    heat[55, 55] = 1.0
    scores = box_scores(heat, boxes, (100, 100), tolerance=0)
    assert scores["pointing"] and not pointing_hit(heat, boxes[0], tolerance=0)
    assert scores["chance_pointing"] == pytest.approx(200 / 10000)
    assert scores["iou"] == pytest.approx(1 / 200)     # the thresholded map is the one maximal pixel


def test_chance_dilates_the_boxes_by_the_tolerance():
    """Box(20, 20, 20, 20) covers 400 of 10,000 pixels. Within 2 pixels (squared distance < 4): the 80 pixels
    touching its sides (distance 1) and the 4 diagonal neighbours of its corners (distance sqrt 2): 484."""
    box = [Box(20, 20, 20, 20)]
    assert pointing_chance(box, (100, 100), tolerance=0) == pytest.approx(0.04)
    assert pointing_chance(box, (100, 100), tolerance=1) == pytest.approx(0.04)
    assert pointing_chance(box, (100, 100), tolerance=2) == pytest.approx(0.0484)


def test_iou_by_hand():
    mask = np.zeros((10, 10), dtype=bool)
    mask[0:4, 0:4] = True                            # 16 pixels
    assert mask_iou(mask, Box(0, 0, 4, 4)) == pytest.approx(1.0)
    assert mask_iou(mask, Box(2, 0, 4, 4)) == pytest.approx(8 / 24)  # overlap 2 columns x 4 rows
    assert mask_iou(mask, Box(6, 6, 2, 2)) == 0.0


def test_thresholded_scores_and_aggregate():
    heat = np.zeros((10, 10))
    heat[0:4, 0:4] = 1.0
    heat[8, 8] = 0.4                                 # below half the maximum: not in the mask
    scores = box_scores(heat, Box(0, 0, 2, 4), threshold=0.5, tolerance=0)  # the first maximum, (0, 0), is inside
    assert scores["pointing"] and scores["iou"] == pytest.approx(8 / 16) and scores["hit"]
    assert scores["chance_pointing"] == pytest.approx(0.08)
    miss = box_scores(heat, Box(6, 6, 4, 4), threshold=0.5, tolerance=0)
    assert not miss["pointing"] and not miss["hit"]
    table = aggregate([("Mass", scores), ("Mass", miss), ("Nodule", miss)])
    assert table["Mass"]["count"] == 2 and table["Mass"]["pointing"] == 50.0 and table["Mass"]["hit_rate"] == 50.0
    assert table["all"]["count"] == 3 and table["all"]["pointing"] == pytest.approx(100 / 3)
    # the reference's summary: per-class accuracies 50% and 0%, their mean 25%; chance likewise per class first
    assert table["all"]["pointing_class_mean"] == pytest.approx(25.0)
    assert table["all"]["chance_pointing_class_mean"] == pytest.approx((100 * (0.08 + 0.16) / 2 + 16) / 2)
    assert list(table) == ["Mass", "Nodule", "all"]
    with pytest.raises(ValueError, match="threshold"):
        threshold_map(heat, 0.0)


def test_read_bbox_list(tmp_path):
    path = tmp_path / "BBox_List_2017.csv"
    path.write_text("Image Index,Finding Label,Bbox [x,y,w,h],,,\n"
                    "00013118_008.png,Atelectasis,225.08,547.02,86.76,79.19\n"
                    "00014716_007.png,Infiltrate,600.0,300.5,100,200\n")
    records = read_bbox_list(path)
    assert [r.finding for r in records] == ["Atelectasis", "Infiltration"]   # the labels' spelling
    assert records[0].box == Box(225.08, 547.02, 86.76, 79.19)
    assert records[1].box.scaled(0.25, 0.5) == Box(150.0, 150.25, 25.0, 100.0)
    path.write_text("Image Index,Finding Label,Bbox [x,y,w,h],,,\n00013118_008.png,Mass,1,2,x,4\n")
    with pytest.raises(ValueError, match="line 2: expected 4 numbers"):
        read_bbox_list(path)
    with pytest.raises(FileNotFoundError):
        read_bbox_list(tmp_path / "none.csv")
