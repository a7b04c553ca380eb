import pytest

from muxnet.detection.task import DetectionTask
from muxnet.segmentation.task import SegmentationTask
from muxnet.train.recipes import RecipeError
from muxnet.train.tasks import load_task_recipe, task_recipe


def test_the_papers_voc_recipes():
    for name, model in (("voc_ssdlite", "ssdlite_muxnet_m"), ("voc_ssd", "ssd_muxnet_l")):
        r = load_task_recipe(DetectionTask(), name)
        assert r["model"]["name"] == model and r["data"]["dataset"] == "voc" and r["data"]["image_size"] == 300
        assert (r["optimizer"]["name"], r["optimizer"]["lr"], r["optimizer"]["momentum"],
                r["optimizer"]["weight_decay"]) == ("sgd", 0.01, 0.9, 5e-4)
        assert (r["schedule"]["name"], r["schedule"]["epochs"], r["schedule"]["min_lr"]) == ("cosine", 200, 0.0)
        assert r["data"]["batch_size"] == 32
        assert r["data"]["augment"] == ["photometric", "zoom_out", "iou_crop", "flip"]


def test_the_papers_ade20k_recipes():
    for name, model in (("ade20k_c1", "c1_muxnet_m"), ("ade20k_ppm", "ppm_muxnet_m")):
        r = load_task_recipe(SegmentationTask(), name)
        assert r["model"]["name"] == model and r["data"]["dataset"] == "ade20k"
        assert (r["optimizer"]["lr"], r["optimizer"]["momentum"], r["optimizer"]["weight_decay"]) == (0.02, 0.9, 1e-4)
        assert (r["schedule"]["name"], r["schedule"]["epochs"]) == ("poly", 20)


def test_defaults_follow_the_data_and_recipes_belong_to_their_task(tmp_path):
    assert task_recipe(DetectionTask(), None, None, None, None)["recipe"] == "scenes_ssdlite"
    with_data = task_recipe(DetectionTask(), None, tmp_path, None, None)
    assert with_data["recipe"] == "voc_ssdlite" and with_data["data"]["root"] == str(tmp_path)
    assert task_recipe(SegmentationTask(), None, tmp_path, None, None)["recipe"] == "ade20k_ppm"
    with pytest.raises(RecipeError, match="not a 'segment' recipe"):
        load_task_recipe(SegmentationTask(), "voc_ssdlite")
    with pytest.raises(RecipeError, match="unknown recipe key 'model.output_stride'"):
        load_task_recipe(DetectionTask(), "scenes_ssdlite", ["model.output_stride=8"])


def test_backbone_settings_are_checked_and_each_task_names_its_backbone():
    assert DetectionTask().backbone_name(load_task_recipe(DetectionTask(), "voc_ssd")) == "muxnet_l"
    assert SegmentationTask().backbone_name(load_task_recipe(SegmentationTask(), "scenes_c1")) == "muxnet_xs"
    with pytest.raises(RecipeError, match="model.backbone_weights: must be a checkpoint path, 'digits' or null"):
        load_task_recipe(DetectionTask(), "scenes_ssdlite", [("model.backbone_weights", 3)])
    with pytest.raises(RecipeError, match="model.backbone_pretrain.epochs: must be a positive integer"):
        load_task_recipe(SegmentationTask(), "scenes_c1", [("model.backbone_pretrain.epochs", 0)])
