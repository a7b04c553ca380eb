"""The embedded cluttered digits: a fixed generator (same seed, same images), disjoint source pools, and data
that every command reads by name."""

import numpy as np
import pytest
import torch

from muxnet.data import DATASETS, DEFAULT_DATASET, build_data
from muxnet.data.cluttered import ClutterParams, RendersPerEpoch, load_cluttered, render, source_pools


def test_the_source_pools_are_disjoint_stratified_and_cover_the_digits():
    pools = source_pools()
    train, val, test = (set(pools[s].tolist()) for s in ("train", "val", "test"))
    assert not train & val and not train & test and not val & test
    assert len(train | val | test) == 1797
    assert 0.57 < len(train) / 1797 < 0.63 and 0.17 < len(test) / 1797 < 0.23
    from sklearn.datasets import load_digits

    labels = load_digits().target
    for split in ("train", "val", "test"):  # every class in every split, in about the same share
        counts = np.bincount(labels[pools[split]], minlength=10)
        assert counts.min() > 0.8 * counts.mean()


def test_same_seed_same_images_other_seed_other_images():
    a_pixels, a_labels = render("train", 64, seed=3)
    b_pixels, b_labels = render("train", 64, seed=3)
    assert a_pixels.dtype == torch.uint8 and a_pixels.shape == (64, 3, 32, 32)
    assert torch.equal(a_pixels, b_pixels) and torch.equal(a_labels, b_labels)
    c_pixels, c_labels = render("train", 64, seed=4)
    assert (a_pixels.float() - c_pixels.float()).abs().mean() > 10  # other layouts, not a rounding difference
    assert not torch.equal(render("val", 64, seed=3)[0], a_pixels)  # each split draws from its own stream


def test_the_generator_is_pinned():
    """The labels are NumPy integers (exact on every CPU); the pixels come through float sampling, so they are
    pinned by statistics with a margin far below what a changed generator moves."""
    pixels, labels = render("test", 256, seed=0)
    assert labels.tolist()[:8] == [7, 1, 3, 5, 2, 6, 5, 3]
    assert abs(pixels.float().mean().item() - 71.66) < 0.5


def test_the_digit_is_brighter_than_the_background_and_noise_is_bounded():
    params = ClutterParams(distractors=(0, 0), noise=0.0, max_rotation=0.0)
    pixels, _ = render("train", 32, seed=1, params=params)
    centre = pixels[:, :, 10:22, 10:22].float().amax(dim=(1, 2, 3))
    corner = pixels[:, :, :3, :3].float().mean(dim=(1, 2, 3))
    assert (centre - corner).min() > 80  # foreground >= 0.7, background <= 0.3 of 255, before tint


def test_load_cluttered_splits_and_standardisation():
    splits = load_cluttered(counts={"train": 200, "val": 50, "test": 60})
    assert (len(splits.train), len(splits.val), len(splits.test)) == (200, 50, 60)
    x, y = splits.train.tensors
    assert x.shape == (200, 3, 32, 32) and x.dtype == torch.float32
    assert abs(x.mean().item()) < 1e-3 and abs(x.std().item() - 1) < 1e-2
    assert splits.num_classes == 10 and set(y.tolist()) <= set(range(10))
    assert splits.name == "cluttered"


def test_it_is_the_default_dataset_and_read_by_name():
    assert DEFAULT_DATASET == "cluttered" and "cluttered" in DATASETS and "digits" in DATASETS
    splits = build_data({"dataset": "cluttered", "image_size": 32, "seed": 0})
    assert len(splits.test) == 2000 and splits.test.tensors[0].shape[1:] == (3, 32, 32)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="split must be one of"):
        render("holdout", 4)
    with pytest.raises(ValueError, match="count must be >= 1"):
        render("train", 0)


def test_training_renders_drawn_per_epoch_are_new_each_epoch_and_reproducible():
    counts = {"train": 64, "val": 8, "test": 8}
    fixed = load_cluttered(counts=counts).train.tensors[0]
    fresh = load_cluttered(counts=counts, train_renders="per_epoch").train
    assert isinstance(fresh, RendersPerEpoch) and len(fresh) == 64
    assert torch.equal(torch.stack([fresh[i][0] for i in range(64)]), fixed)  # epoch 0 is the fixed set
    fresh.set_epoch(1)
    first = fresh.pixels.clone()
    assert (first - fixed).abs().mean() > 0.3  # other layouts, in standardised units
    fresh.set_epoch(2)
    fresh.set_epoch(1)
    assert torch.equal(fresh.pixels, first)  # a resumed run sees the same images
    assert set(fresh.labels.tolist()) <= set(range(10)) and len(set(fresh.labels.tolist())) > 5
    assert not torch.equal(render("train", 8, seed=0, epoch=1)[0], render("train", 8, seed=1, epoch=1)[0])


def test_the_training_loader_moves_per_epoch_renders_to_its_epoch():
    from muxnet.data.loaders import TrainLoader

    fresh = load_cluttered(counts={"train": 32, "val": 8, "test": 8}, train_renders="per_epoch").train
    loader = TrainLoader(fresh, batch_size=8, seed=0)
    epoch0 = torch.cat([x for x, _ in loader.epoch(0)])
    epoch3 = torch.cat([x for x, _ in loader.epoch(3)])
    assert fresh.epoch == 3 and epoch0.shape == epoch3.shape == (32, 3, 32, 32)
    assert (epoch0.mean(dim=(1, 2, 3)).sort().values - epoch3.mean(dim=(1, 2, 3)).sort().values).abs().max() > 0.01


def test_the_recipe_chooses_the_training_renders_and_refuses_others():
    from muxnet.train.recipes import RecipeError, load_recipe

    assert load_recipe("cluttered")["data"]["train_renders"] == "fixed"
    data = load_recipe("cluttered", [("data.train_renders", "per_epoch")])["data"]
    assert isinstance(build_data({**data, "image_size": 16}).train, RendersPerEpoch)
    with pytest.raises(RecipeError, match="train_renders"):
        load_recipe("cluttered", [("data.train_renders", "sometimes")])
    with pytest.raises(ValueError, match="train_renders must be one of"):
        load_cluttered(train_renders="sometimes")
    with pytest.raises(ValueError, match="epoch >= 0"):
        render("train", 4, epoch=-1)


def test_the_recipe_chooses_the_composition_and_the_hard_one_is_pinned():
    from muxnet.data.cluttered import DIFFICULTIES
    from muxnet.train.recipes import RecipeError, load_recipe

    assert load_recipe("cluttered")["data"]["difficulty"] == "standard"
    data = load_recipe("cluttered", [("data.difficulty", "hard")])["data"]
    hard = build_data({**data, "image_size": 32}).test.tensors[0]
    standard = build_data({**load_recipe("cluttered")["data"], "image_size": 32}).test.tensors[0]
    assert hard.shape == standard.shape and not torch.equal(hard, standard)
    # same digits drawn (the labels come first from the same stream), a different composition
    pixels, labels = render("test", 256, seed=0, params=DIFFICULTIES["hard"])
    assert labels.tolist()[:8] == [7, 1, 3, 5, 2, 6, 5, 3]
    assert abs(pixels.float().mean().item() - 84.69) < 0.5  # the standard composition's: 71.66
    with pytest.raises(RecipeError, match="difficulty"):
        load_recipe("cluttered", [("data.difficulty", "brutal")])
    with pytest.raises(ValueError, match="difficulty must be one of"):
        load_cluttered(params="brutal")


def test_a_cluttered_setting_on_other_data_is_refused_not_ignored():
    from muxnet.cli import _recipe_overrides, build_parser
    from muxnet.data import DataError
    from muxnet.train.recipes import load_recipe

    digits = load_recipe("digits", [("data.difficulty", "hard")])["data"]
    with pytest.raises(DataError, match="data.difficulty: a setting of the embedded cluttered dataset, not of "
                                        "'digits'"):
        build_data(digits)
    with pytest.raises(DataError, match="data.digits_pool"):
        build_data({**load_recipe("cluttered")["data"], "digits_pool": "scenes_train"})
    args = build_parser().parse_args(["train", "--difficulty", "hard", "--epochs", "1"])
    assert ("data.difficulty", "hard") in _recipe_overrides(args)


def test_pairs_read_left_to_right():
    """Each slot of a clean pair render is the source digit its label names: the nearest of every source digit
    drawn at that slot is of the label's class (tens for the left slot, units for the right)."""
    import torch.nn.functional as F

    from muxnet.data.cluttered import _affine, _source, _stamp

    clean = ClutterParams(digit_size=(14.0, 14.0), max_offset=0.0, max_rotation=0.0, distractors=(0, 0),
                          background=(0.0, 0.0), foreground=(1.0, 1.0), tint=0.0, noise=0.0, digits=2)
    pixels, labels = render("test", 40, seed=5, params=clean)
    coverage = pixels.float().mean(dim=1).div(255)  # grey: the digits' coverage
    images, classes = _source()
    n = len(images)
    for half, x, place in ((slice(0, 16), 8.0, 10), (slice(16, 32), 24.0, 1)):
        templates = _stamp(images, _affine(np.tile([[x, 16.0]], (n, 1)), np.full(n, 14.0), np.zeros(n), 32,
                                           np.zeros((n, 2)), 1.0), 32)[:, 0, :, half]
        distance = torch.cdist(coverage[:, :, half].flatten(1), templates.flatten(1))
        best = distance.min(dim=1)
        assert best.values.max() < 0.1  # the slot holds a source digit, drawn exactly there
        nearest = torch.from_numpy(classes)[best.indices]
        assert torch.equal(nearest, labels // place % 10), half
    assert F.one_hot(labels, 100).shape == (40, 100)


def test_the_pairs_composition_is_pinned_and_has_a_hundred_classes():
    from muxnet.data.cluttered import DIFFICULTIES

    pixels, labels = render("test", 256, seed=0, params=DIFFICULTIES["pairs"])
    assert labels.tolist()[:8] == [71, 35, 26, 53, 41, 44, 19, 0]
    assert abs(pixels.float().mean().item() - 71.33) < 0.5
    assert len(set(labels.tolist())) > 80 and labels.max() < 100  # every pair is a class
    splits = build_data({"dataset": "cluttered", "image_size": 32, "seed": 0, "difficulty": "pairs",
                         "train_renders": "fixed"})
    assert splits.num_classes == 100 and splits.class_names[:2] == ["00", "01"] and splits.class_names[-1] == "99"
    with pytest.raises(ValueError, match="digits must be >= 1"):
        ClutterParams(digits=0)
    with pytest.raises(ValueError, match="left-to-right order"):
        ClutterParams(digits=2, max_offset=None)


def test_fragments_kept_clear_of_the_digit_never_touch_it():
    """With ``fragment_gap`` every pixel near the digit's strokes is what the digit alone would draw there, while
    the fragments still land elsewhere; without it, fragments cross the strokes."""
    import torch.nn.functional as F

    plain = dict(background=(0.0, 0.0), foreground=(1.0, 1.0), tint=0.0, noise=0.0, distractors=(3, 4),
                 fragment_size=(6.0, 9.0), digit_size=(14.0, 20.0))
    gapped = ClutterParams(**plain, fragment_gap=3.0)
    alone, _ = render("train", 128, seed=2, params=ClutterParams(**{**plain, "distractors": (0, 0)}))
    cluttered, _ = render("train", 128, seed=2, params=gapped)
    crossing, _ = render("train", 128, seed=2, params=ClutterParams(**plain))
    strokes = (alone[:, :1].float() > 128).float()  # the digit's core, a subset of what the generator keeps clear
    near = F.max_pool2d(strokes, 7, stride=1, padding=3).bool().expand(-1, 3, -1, -1)  # within 3 pixels
    assert torch.equal(cluttered[near], alone[near])
    assert (cluttered[~near] != alone[~near]).float().mean() > 0.03  # the fragments are still there
    assert (crossing[near] != alone[near]).float().mean() > 0.01  # and without the gap they reach the strokes


def test_the_legible_composition_is_pinned():
    from muxnet.data.cluttered import DIFFICULTIES

    pixels, labels = render("test", 256, seed=0, params=DIFFICULTIES["legible"])
    assert labels.tolist()[:8] == [7, 1, 3, 5, 2, 6, 5, 3]
    assert abs(pixels.float().mean().item() - 73.95) < 0.5
    assert DIFFICULTIES["legible"].fragment_gap == 3.0 and DIFFICULTIES["legible"].num_classes == 10
    with pytest.raises(ValueError, match="fragment_gap"):
        ClutterParams(fragment_gap=-1.0)


def test_the_legible_pairs_composition_is_pinned_and_draws_the_pairs_images():
    """The same draws as ``pairs`` (labels, digits, fragments), with the fragments near the strokes erased."""
    from muxnet.data.cluttered import DIFFICULTIES

    pixels, labels = render("test", 256, seed=0, params=DIFFICULTIES["legible_pairs"])
    crossing, pair_labels = render("test", 256, seed=0, params=DIFFICULTIES["pairs"])
    assert torch.equal(labels, pair_labels) and labels.tolist()[:8] == [71, 35, 26, 53, 41, 44, 19, 0]
    assert abs(pixels.float().mean().item() - 67.38) < 0.5  # pairs: 71.33, fragments erased near the strokes
    changed = (pixels != crossing).float().mean().item()
    assert 0.02 < changed < 0.2
    assert DIFFICULTIES["legible_pairs"].fragment_gap == 2.0 and DIFFICULTIES["legible_pairs"].num_classes == 100


def test_the_texture_composition_is_pinned_and_marks_shapes_by_orientation_and_lift():
    """Texture-defined digits, labelled as every one-digit composition is; inside the shapes the ground's two
    colours keep their mean, raised by ``lift`` of the contrast: without lift only the orientation tells them."""
    import dataclasses

    from muxnet.data.cluttered import DIFFICULTIES

    texture = DIFFICULTIES["texture"]
    pixels, labels = render("test", 256, seed=0, params=texture)
    assert torch.equal(labels, render("test", 256, seed=0, params=DIFFICULTIES["legible"])[1])
    assert abs(pixels.float().mean().item() - 120.32) < 0.5
    assert texture.num_classes == 10 and texture.grating == (2.5, 4.0) and texture.lift == 0.2
    # black ground colour, white shapes' colour, no tint or noise: the flat twin shows where the shapes are
    plain = dataclasses.replace(texture, background=(0.0, 0.0), foreground=(1.0, 1.0), tint=0.0, noise=0.0)
    flat = render("test", 128, seed=1, params=dataclasses.replace(plain, grating=None))[0].float() / 255
    inside, outside = flat > 0.8, flat == 0
    for lift, gap in ((0.0, 0.0), (0.2, 0.2), (0.4, 0.4)):
        image = render("test", 128, seed=1, params=dataclasses.replace(plain, lift=lift))[0].float() / 255
        assert abs(image[inside].mean() - image[outside].mean() - gap) < 0.03
    with pytest.raises(ValueError, match="grating"):
        ClutterParams(grating=(1.0, 3.0))
