"""Procedural glyphs: fixed, distinct classes; a pinned generator; distractors that never touch a glyph."""

import dataclasses

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from muxnet.data.cluttered import DIFFICULTIES, load_cluttered, render
from muxnet.data.glyphs import GlyphParams, class_paths


def _differences(paths: np.ndarray) -> np.ndarray:
    """Points in which each pair of paths differs, either way round; a path against itself counts as all of them."""
    same = (paths[:, None] == paths[None]).all(-1).sum(-1)
    reverse = (paths[:, None] == paths[None, :, ::-1]).all(-1).sum(-1)
    differences = paths.shape[1] - np.maximum(same, reverse)
    np.fill_diagonal(differences, paths.shape[1])
    return differences


def test_the_classes_are_fixed_lattice_paths_that_differ_in_two_points_either_way_round():
    paths = class_paths(100, 3, 2)
    assert paths.shape == (100, 4, 2)
    assert np.allclose(paths * 3, np.round(paths * 3))  # points of the 4x4 lattice
    assert paths[0].tolist() == [[1 / 3, 2 / 3], [1.0, 2 / 3], [1.0, 1.0], [1 / 3, 1 / 3]]
    assert _differences(paths).min() >= 2
    with pytest.raises(ValueError, match="fewer classes"):
        class_paths(200, 1, 2)  # a 4x4 lattice has 120 straight strokes


def test_the_glyphs_composition_is_pinned_and_read_by_name():
    pixels, labels = render("test", 256, seed=0, params=DIFFICULTIES["glyphs"])
    again, _ = render("test", 256, seed=0, params=DIFFICULTIES["glyphs"])
    assert torch.equal(pixels, again) and pixels.shape == (256, 3, 32, 32)
    assert labels.tolist()[:8] == [71, 79, 84, 2, 78, 36, 1, 72]
    assert abs(pixels.float().mean().item() - 62.60) < 0.5
    other, _ = render("test", 256, seed=1, params=DIFFICULTIES["glyphs"])
    assert (pixels != other).float().mean() > 0.5
    splits = load_cluttered(32, 0, counts={"train": 64, "val": 32, "test": 32}, params="glyphs")
    assert splits.num_classes == 100 and len(splits.class_names) == 100


def test_the_thousand_class_composition_is_pinned_and_crowds_its_classes():
    pixels, labels = render("test", 256, seed=0, params=DIFFICULTIES["glyphs1000"])
    assert labels.tolist()[:8] == [711, 796, 845, 21, 787, 365, 11, 724]
    assert abs(pixels.float().mean().item() - 62.97) < 0.5
    paths = class_paths(1000, 3, 2)
    assert np.array_equal(paths[:100], class_paths(100, 3, 2))  # the 100 classes are its first hundred
    differences = _differences(paths)
    assert differences.min() == 2 and (differences.min(1) == 2).all()  # every class has a near twin
    assert (differences == 2).sum() // 2 == 22_627


def test_distractor_strokes_stay_clear_of_the_glyph():
    """Black ground, white ink, no noise: what a render with distractors adds lies 1.5 px or more from the glyph."""
    plain = dataclasses.replace(DIFFICULTIES["glyphs"], background=(0.0, 0.0), foreground=(1.0, 1.0), tint=0.0,
                                noise=0.0)
    alone = render("val", 128, seed=3, params=dataclasses.replace(plain, distractors=(0, 0)))[0][:, :1].float()
    cluttered = render("val", 128, seed=3, params=plain)[0][:, :1].float()
    added = cluttered > alone
    assert added.float().mean() > 0.01  # the distractors are there
    near = F.max_pool2d((alone > 0).float(), 3, stride=1, padding=1) > 0
    assert not (added & near).any()
    assert (cluttered >= alone).all()  # the glyph itself is untouched


@pytest.mark.parametrize("bad", [dict(classes=1), dict(strokes=0), dict(min_difference=5), dict(jitter=-0.1),
                                 dict(distractors=(3, 1))])
def test_bad_glyph_params_are_refused(bad):
    with pytest.raises(ValueError):
        GlyphParams(**bad)
