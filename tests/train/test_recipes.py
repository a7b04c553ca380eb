import math

import pytest

from data.makers import make_cifar
from muxnet.train.optim import build_criterion, build_optimizer, lr_at_steps
from muxnet.train.recipes import DEFAULTS, RecipeError, build_recipe, load_recipe, recipe_names


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
    ("optimizer=0.1", "'optimizer' must be a mapping"),
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
    with pytest.raises(RecipeError, match=r"mine.yaml: unknown recipe key 'optimizer.betas'"):
        load_recipe(path)
    path.write_text("recipe: mine\noptimizer:\n  lr: 0.2\n")
    assert load_recipe(path)["optimizer"]["lr"] == 0.2


def test_recipe_follows_the_data(tmp_path):
    assert build_recipe()["recipe"] == "digits"
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
