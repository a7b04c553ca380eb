import copy
import dataclasses
import math
import re

import pytest
import yaml

from data.makers import make_cifar
from muxnet.train.optim import build_criterion, build_optimizer, lr_at_steps
from muxnet.train.recipes import (
    DEFAULTS,
    ClassificationRecipe,
    OptimizerSection,
    RecipeError,
    build_recipe,
    load_recipe,
    recipe_names,
    validate_recipe,
)


def test_shipped_recipes_follow_the_paper():
    assert set(recipe_names()) >= {"digits", "imagenet", "transfer", "chestxray"}
    imagenet = load_recipe("imagenet")
    assert imagenet["optimizer"] | {} == {**DEFAULTS["optimizer"], "name": "rmsproptf", "lr": 0.016, "momentum": 0.9,
                                          "alpha": 0.9, "eps": 1e-3, "weight_decay": 1e-5}
    assert imagenet["training"]["ema_decay"] == 0.9998 and imagenet["model"]["drop_rate"] == 0.2
    assert imagenet["data"]["batch_size"] == 256 and imagenet["data"]["train_transform"] == "inception"
    transfer = load_recipe("transfer")
    assert (transfer["optimizer"]["name"], transfer["optimizer"]["lr"], transfer["optimizer"]["weight_decay"]) == \
        ("sgd", 0.01, 4e-5)
    assert transfer["training"]["grad_clip"] == 5.0 and transfer["schedule"]["epochs"] == 150
    assert load_recipe("chestxray")["training"]["loss"] == "bce"


def test_rmsprop_tf_and_plain_sgd_reach_the_optimizer():
    import torch

    model = torch.nn.Linear(2, 2)
    rms = build_optimizer(model, load_recipe("imagenet")["optimizer"])
    assert type(rms).__name__ == "RMSpropTF"
    group = rms.param_groups[0]
    assert (group["alpha"], group["eps"], group["momentum"]) == (0.9, 1e-3, 0.9)
    sgd = build_optimizer(model, load_recipe("transfer")["optimizer"])
    assert isinstance(sgd, torch.optim.SGD) and sgd.param_groups[0]["nesterov"] is False
    # weight decay skips biases (timm's filter_bias_and_bn)
    assert sorted(g["weight_decay"] for g in sgd.param_groups) == [0.0, 4e-5]


def test_imagenet_schedule_warmup_then_three_percent_every_three_epochs():
    recipe = load_recipe("imagenet")
    u = 100  # steps per epoch
    lrs = lr_at_steps(recipe, u, [0, 250, 499, 5 * u, 6 * u - 1, 6 * u, 9 * u, 30 * u])
    assert lrs[0] == pytest.approx(1e-6)
    assert lrs[1] == pytest.approx(1e-6 + (0.016 - 1e-6) / 2)
    assert lrs[2] == pytest.approx(0.016, rel=3e-3)
    assert lrs[3] == pytest.approx(0.016 * 0.97)        # staircase counted from step 0, as in TF
    assert lrs[4] == pytest.approx(0.016 * 0.97)
    assert lrs[5] == pytest.approx(0.016 * 0.97 ** 2)
    assert lrs[6] == pytest.approx(0.016 * 0.97 ** 3)
    assert lrs[7] == pytest.approx(0.016 * 0.97 ** 10)


def test_transfer_schedule_cosine_to_zero_over_150_epochs():
    u = 10
    lrs = lr_at_steps(load_recipe("transfer"), u, [0, 375, 750, 1125, 1499, 1500])
    assert lrs[0] == pytest.approx(0.01)
    assert lrs[1] == pytest.approx(0.01 * (1 + math.cos(math.pi / 4)) / 2)
    assert lrs[2] == pytest.approx(0.005)
    assert lrs[4] == pytest.approx(0.0, abs=1e-7) and lrs[5] == 0.0


def test_digits_schedule_and_overrides():
    recipe = load_recipe("digits", ["schedule.epochs=4", "optimizer.lr=0.1", ("schedule.warmup_epochs", 0)])
    assert lr_at_steps(recipe, 5, [0, 10, 20]) == pytest.approx([0.1, 0.05, 0.0], abs=1e-9)


@pytest.mark.parametrize("override, message", [
    ("optimizer.lrr=0.1", "optimizer.lrr"),
    ("optimizer=0.1", "recipe optimizer: must be a mapping"),
    ("optimizer.lr", "section.key=value"),
    ("optimizer.lr=-1", "optimizer.lr"),
    ("data.dataset=mnist", "data.dataset"),
    ("training.loss=l2", "training.loss"),
])
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe("digits", [override])


def test_recipe_files_and_unknown_names(tmp_path):
    with pytest.raises(RecipeError, match="unknown recipe 'imagenett'"):
        load_recipe("imagenett")
    path = tmp_path / "mine.yaml"
    path.write_text("optimizer:\n  lr: 0.2\n  betas: [0.9, 0.99]\n")
    with pytest.raises(RecipeError, match=r"mine.yaml: recipe optimizer: unknown key 'betas' \(known keys: alpha, eps"):
        load_recipe(path)
    path.write_text("recipe: mine\noptimizer:\n  lr: 0.2\n")
    assert load_recipe(path)["optimizer"]["lr"] == 0.2


def test_recipe_follows_the_data(tmp_path):
    assert build_recipe()["recipe"] == "cluttered" and build_recipe()["data"]["dataset"] == "cluttered"
    assert build_recipe(dataset="digits")["recipe"] == "digits"
    cifar = build_recipe(data=make_cifar(tmp_path / "c", 100))
    assert cifar["recipe"] == "transfer" and cifar["data"]["dataset"] == "cifar100"
    with pytest.raises(RecipeError, match="recipe.yaml"):
        build_recipe(resume=tmp_path)


def test_loss_follows_the_recipe_or_is_refused():
    import torch
    from timm.loss import BinaryCrossEntropy

    assert isinstance(build_criterion(None, multi_label=False), torch.nn.CrossEntropyLoss)
    assert isinstance(build_criterion(None, multi_label=True), torch.nn.BCEWithLogitsLoss)
    assert isinstance(build_criterion("bce", multi_label=False, label_smoothing=0.1), BinaryCrossEntropy)
    assert build_criterion("cross_entropy", False, 0.1).label_smoothing == 0.1
    with pytest.raises(ValueError, match="training.loss: 'cross_entropy' picks one class"):
        build_criterion("cross_entropy", multi_label=True)
    with pytest.raises(ValueError, match="training.label_smoothing"):
        build_criterion("bce", multi_label=True, label_smoothing=0.1)


def test_workers_default_to_the_cores_available(monkeypatch):
    import os

    from muxnet.data.loaders import resolve_workers

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert load_recipe("imagenet")["data"]["workers"] is None and load_recipe("digits")["data"]["workers"] == 0
    assert resolve_workers(None) == min(8, cores) and resolve_workers(3) == 3
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(2 * cores))  # more ranks than cores: no loader processes
    assert resolve_workers(None) == 0
    with pytest.raises(RecipeError, match="data.workers"):
        load_recipe("digits", ["data.workers=-1"])


@pytest.mark.parametrize("override, message", [
    ("optimizer.lr=-1", "recipe optimizer.lr: must be > 0, got -1"),
    ("optimizer.lr=fast", "recipe optimizer.lr: must be a number > 0, got 'fast'"),
    ("data.image_size=4", "recipe data.image_size: must be an integer >= 8, got 4"),
    ("data.batch_size=0", "recipe data.batch_size: must be a positive integer, got 0"),
    ("schedule.epochs=2.5", "recipe schedule.epochs: must be a positive integer, got 2.5"),
    ("data.val_fraction=1", "recipe data.val_fraction: must be in [0, 1) or null, got 1"),
    ("training.ema_decay=1", "recipe training.ema_decay: must be in (0, 1) or null (no EMA), got 1"),
    ("training.amp=yes please", "recipe training.amp: must be true or false, got 'yes please'"),
    ("training.checkpoint_every_steps=-5", "recipe training.checkpoint_every_steps: must be an integer >= 0, got -5"),
    ("data.train_transform=flip", "recipe data.train_transform: must be one of 'none', 'inception', 'resize_flip', "
                                  "got 'flip'"),
    ("schedule.decay_epochs=[3, -1]", "recipe schedule.decay_epochs: must be a number > 0 or a list of them or null, "
                                      "got [3, -1]"),
])
def test_a_wrong_value_names_its_path_and_value(override, message):
    with pytest.raises(RecipeError, match=f"^{re.escape(message)}$"):
        load_recipe("digits", [override])


@pytest.mark.parametrize("override, message", [
    ("optimizer.lr_rate=0.1", "recipe optimizer: unknown key 'lr_rate' (did you mean 'lr'?)"),
    ("training.sed=1", "recipe training: unknown key 'sed' (did you mean 'seed'?)"),
    ("optimiser.lr=0.1", "recipe: unknown key 'optimiser' (did you mean 'optimizer'?)"),
    ("data.wd=1", "recipe data: unknown key 'wd' (known keys: batch_size, dataset, difficulty, digits_pool, "
                  "eval_batch_size"),
])
def test_an_unknown_key_names_the_nearest_known_one(override, message):
    with pytest.raises(RecipeError, match=f"^override {re.escape(override)}: {re.escape(message)}"):
        load_recipe("digits", [override])


def test_an_unknown_key_of_a_dense_recipe_names_the_nearest_known_one(tmp_path):
    from muxnet.detection.task import DetectionTask
    from muxnet.segmentation.task import SegmentationTask
    from muxnet.train.tasks import load_task_recipe

    with pytest.raises(RecipeError, match=re.escape("recipe model: unknown key 'score_treshold' "
                                                    "(did you mean 'score_thresh'?)")):
        load_task_recipe(DetectionTask(), "scenes_ssdlite", ["model.score_treshold=0.1"])
    # a detection key is no segmentation key: the message lists what segmentation's model section holds
    with pytest.raises(RecipeError, match=re.escape("recipe model: unknown key 'nms_thresh' (known keys: "
                                                    "backbone_pretrain, backbone_weights, name, output_stride)")):
        load_task_recipe(SegmentationTask(), "scenes_c1", ["model.nms_thresh=0.5"])
    path = tmp_path / "mine.yaml"
    path.write_text("task: detect\ndata:\n  scenes: {train: 10, tset: 5}\n")
    with pytest.raises(RecipeError, match=re.escape("mine.yaml: recipe data.scenes: unknown key 'tset' "
                                                    "(did you mean 'test'?)")):
        load_task_recipe(DetectionTask(), path)


def test_the_schema_is_the_defaults_and_what_the_loop_reads_is_a_plain_dict():
    assert DEFAULTS == ClassificationRecipe().to_dict()
    recipe = load_recipe("imagenet")
    # the loop reads nested dicts, dumps them as recipe.yaml and copies them; the schema reads them back
    assert type(recipe) is dict and all(type(recipe[s]) is dict for s in ("model", "data", "training"))
    assert yaml.safe_load(yaml.safe_dump(recipe, sort_keys=False)) == recipe == copy.deepcopy(recipe)
    assert validate_recipe(recipe) == recipe
    typed = ClassificationRecipe.from_dict(recipe)
    assert typed.optimizer.lr == 0.016 and typed.training.ema_decay == 0.9998
    with pytest.raises(dataclasses.FrozenInstanceError):
        typed.optimizer.lr = 0.1  # type: ignore[misc]
    # a section built by hand is checked as one read from a file, and its errors name the same path
    with pytest.raises(RecipeError, match=re.escape("recipe optimizer.lr: must be > 0, got 0")):
        OptimizerSection(lr=0)
    with pytest.raises(RecipeError, match=re.escape("recipe training: unknown key 'sed' (did you mean 'seed'?)")):
        validate_recipe({"training": {"sed": 1}})
    for name in ("digits", "imagenet", "transfer", "chestxray"):
        assert validate_recipe(load_recipe(name)) == load_recipe(name)


def test_exponent_numbers_are_numbers_in_files_and_overrides(tmp_path):
    # YAML 1.1 (PyYAML) reads 1e-3 as a string; recipes read it as the number it is
    assert load_recipe("digits", ["optimizer.lr=1e-3"])["optimizer"]["lr"] == 1e-3
    path = tmp_path / "mine.yaml"
    path.write_text("optimizer:\n  lr: 2E-2\n  weight_decay: 5e-5\n")
    optimizer = load_recipe(path)["optimizer"]
    assert (optimizer["lr"], optimizer["weight_decay"]) == (0.02, 5e-5)


# recipe.yaml as runs wrote it before the recipes were typed (the same keys, another order)
RUN_BEFORE_THE_SCHEMA = """\
recipe: digits
model: {name: muxnet_digits, pretrained: null, drop_rate: 0.1, drop_path_rate: 0.0}
data: {dataset: digits, root: null, image_size: 32, batch_size: 64, eval_batch_size: null, workers: 0,
  train_transform: none, eval_crop_pct: null, val_fraction: null, skip_bad_images: false, seed: 0, digits_pool: all}
optimizer: {name: sgd, lr: 0.08, momentum: 0.9, weight_decay: 5.0e-05, alpha: null, eps: null, nesterov: true}
schedule: {name: cosine, epochs: 20, warmup_epochs: 1, warmup_lr: 0.001, min_lr: 0.0, decay_epochs: null,
  decay_rate: 0.1}
training: {loss: null, label_smoothing: 0.1, grad_clip: 5.0, ema_decay: null, amp: true, channels_last: false,
  seed: 0, checkpoint_every_steps: 0, sync_bn: false, device: null, threads: 1}
output: {dir: RUN, progress: true, tensorboard: false}
"""


def test_a_run_made_before_the_schema_still_resumes(tmp_path):
    (tmp_path / "recipe.yaml").write_text(RUN_BEFORE_THE_SCHEMA)
    assert build_recipe(resume=tmp_path) == load_recipe("digits", [("output.dir", str(tmp_path))])
