import re

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
    with pytest.raises(RecipeError, match="recipe model: unknown key 'output_stride'"):
        load_task_recipe(DetectionTask(), "scenes_ssdlite", ["model.output_stride=8"])


def test_backbone_settings_are_checked_and_each_task_names_its_backbone():
    assert DetectionTask().backbone_name(load_task_recipe(DetectionTask(), "voc_ssd")) == "muxnet_l"
    assert SegmentationTask().backbone_name(load_task_recipe(SegmentationTask(), "scenes_c1")) == "muxnet_xs"
    with pytest.raises(RecipeError, match="model.backbone_weights: must be a checkpoint path, 'digits' or null"):
        load_task_recipe(DetectionTask(), "scenes_ssdlite", [("model.backbone_weights", 3)])
    with pytest.raises(RecipeError, match="model.backbone_pretrain.epochs: must be a positive integer"):
        load_task_recipe(SegmentationTask(), "scenes_c1", [("model.backbone_pretrain.epochs", 0)])


@pytest.mark.parametrize("task, override, message", [
    (DetectionTask(), ("model.score_thresh", 1.5), "recipe model.score_thresh: must be in [0, 1], got 1.5"),
    (DetectionTask(), ("data.dataset", "ade20k"), "recipe data.dataset: must be one of 'scenes', 'voc', got 'ade20k'"),
    (DetectionTask(), ("data.image_size", 16), "recipe data.image_size: must be an integer >= 32, got 16"),
    (DetectionTask(), ("data.augment", "flip"),
     "recipe data.augment: must be a list of augmentation steps, got 'flip'"),
    (DetectionTask(), ("model.name", ""), "recipe model.name: must name a model, got ''"),
    (SegmentationTask(), ("model.output_stride", 4), "recipe model.output_stride: must be one of 8, 16, 32, got 4"),
    (SegmentationTask(), ("data.scenes.digit_sizes", [40, 200]),
     "recipe data.scenes.digit_sizes: must satisfy 8 <= smallest <= largest <= size (96), got [40, 200]"),
    (SegmentationTask(), ("optimizer.lr", 0), "recipe optimizer.lr: must be > 0, got 0"),
])
def test_a_wrong_dense_value_names_its_path_and_value(task, override, message):
    with pytest.raises(RecipeError, match=f"^{re.escape(message)}$"):
        load_task_recipe(task, task.default_recipes[0], [override])


# recipe.yaml as segmentation runs wrote it before the recipes were typed: training and output lacked the keys
# (EMA, AMP, channels_last, sync_bn, tensorboard) every task now shares with classification
RUN_BEFORE_THE_SCHEMA = """\
recipe: scenes_c1
task: segment
model: {name: c1_muxnet_xs, backbone_weights: null, backbone_pretrain: {epochs: 30, image_size: 32}, output_stride: 8}
data: {dataset: scenes, root: null, image_size: 96, batch_size: 16, eval_batch_size: null, workers: 0, augment: [],
  skip_bad_images: false, scenes: {train: 2000, test: 300, size: 96, seed: 0, max_digits: 3, digit_sizes: [34, 58]}}
optimizer: {name: adamw, lr: 0.003, momentum: 0.9, weight_decay: 0.0001, alpha: null, eps: null, nesterov: null}
schedule: {name: cosine, epochs: 5, warmup_epochs: 0.5, warmup_lr: 0.0001, min_lr: 0.0, decay_epochs: null,
  decay_rate: 0.1}
training: {seed: 0, device: null, threads: 1, grad_clip: 5.0, checkpoint_every_steps: 0}
output: {dir: RUN, progress: true}
"""


def test_a_dense_run_made_before_the_schema_still_resumes(tmp_path):
    (tmp_path / "recipe.yaml").write_text(RUN_BEFORE_THE_SCHEMA)
    resumed = task_recipe(SegmentationTask(), None, None, None, tmp_path)
    assert resumed == load_task_recipe(SegmentationTask(), "scenes_c1", [("output.dir", str(tmp_path))])
    assert resumed["training"]["ema_decay"] is None and resumed["output"]["tensorboard"] is False
