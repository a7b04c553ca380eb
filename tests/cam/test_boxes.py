import numpy as np
import pytest

from muxnet.cam.boxes import Box, aggregate, box_scores, mask_iou, pointing_hit, read_bbox_list, threshold_map


def test_pointing_game():
    heat = np.zeros((10, 10))
    heat[2, 7] = 1.0
    assert pointing_hit(heat, Box(6, 1, 3, 3))      # columns 6-8, rows 1-3 hold (row 2, col 7)
    assert not pointing_hit(heat, Box(0, 0, 5, 5))


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
    scores = box_scores(heat, Box(0, 0, 2, 4), threshold=0.5)  # the first maximum, (0, 0), is inside
    assert scores["pointing"] and scores["iou"] == pytest.approx(8 / 16) and scores["hit"]
    assert scores["box_fraction"] == pytest.approx(0.08)
    miss = box_scores(heat, Box(6, 6, 4, 4), threshold=0.5)
    assert not miss["pointing"] and not miss["hit"]
    table = aggregate([("Mass", scores), ("Mass", miss), ("Nodule", miss)])
    assert table["Mass"]["count"] == 2 and table["Mass"]["pointing"] == 50.0 and table["Mass"]["hit_rate"] == 50.0
    assert table["all"]["count"] == 3 and table["all"]["pointing"] == pytest.approx(100 / 3)
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
