import numpy as np
import pytest

pytest.importorskip("imagecorruptions")

from muxnet.robustness.corruptions import BENCHMARK_CORRUPTIONS, CORRUPTIONS, EXTRA_CORRUPTIONS, corrupt  # noqa: E402
from muxnet.robustness.pixel_datasets import CorruptedImages, PixelImages, normalize_transform  # noqa: E402

IMAGE = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
RANDOM_ONES = ("gaussian_noise", "shot_noise", "impulse_noise", "motion_blur", "snow", "frost", "elastic_transform",
               "speckle_noise", "spatter")


def test_the_19_names_are_the_packages():
    import imagecorruptions

    assert CORRUPTIONS == tuple(imagecorruptions.get_corruption_names("all"))
    assert BENCHMARK_CORRUPTIONS == tuple(imagecorruptions.get_corruption_names("common"))
    assert EXTRA_CORRUPTIONS == ("speckle_noise", "gaussian_blur", "spatter", "saturate")


@pytest.mark.parametrize("name", RANDOM_ONES)
def test_same_seed_same_image_and_global_rng_untouched(name):
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a = corrupt(IMAGE, name, 3, seed=7, index=2)
    b = corrupt(IMAGE, name, 3, seed=7, index=2)
    assert np.array_equal(a, b) and a.shape == IMAGE.shape and a.dtype == np.uint8
    assert not np.array_equal(a, corrupt(IMAGE, name, 3, seed=7, index=3))  # each image draws its own noise
    assert not np.array_equal(a, corrupt(IMAGE, name, 3, seed=8, index=2))
    assert np.array_equal(np.random.get_state()[1], before)


@pytest.mark.slow
def test_glass_blur_is_deterministic_despite_its_own_rng():
    # without a seed the package draws glass_blur's shuffles from fresh OS entropy
    a, b = corrupt(IMAGE, "glass_blur", 1, seed=0), corrupt(IMAGE, "glass_blur", 1, seed=0)
    assert np.array_equal(a, b) and not np.array_equal(a, IMAGE)


def test_every_corruption_changes_the_image():
    for name in CORRUPTIONS:
        if name == "glass_blur":
            continue  # covered above (numba compilation takes seconds)
        assert not np.array_equal(corrupt(IMAGE, name, 5), IMAGE), name


@pytest.mark.parametrize("args, message", [
    (("blur", 1), "unknown corruption 'blur'"),
    (("fog", 6), "severity must be one of"),
    (("fog", 0), "severity must be one of"),
])
def test_bad_names_and_severities_are_named(args, message):
    with pytest.raises(ValueError, match=message):
        corrupt(IMAGE, *args)


def test_small_images_must_be_upsampled_first():
    with pytest.raises(ValueError, match="at least 32x32"):
        corrupt(IMAGE[:8, :8], "fog", 1)


def test_corrupted_dataset_is_repeatable_and_normalised():
    pixels = PixelImages(np.stack([IMAGE, IMAGE[::-1]]), [0, 1])
    data = CorruptedImages(pixels, "gaussian_noise", 2, seed=1, transform=normalize_transform([0.5] * 3, [0.25] * 3))
    (x0, y0), (x0_again, _) = data[0], data[0]
    assert x0.shape == (3, 32, 32) and y0 == 0 and x0.equal(x0_again)
    assert not x0.equal(data[1][0])
    clean = CorruptedImages(pixels, None, transform=normalize_transform([0.5] * 3, [0.25] * 3))[0][0]
    expected = (IMAGE.transpose(2, 0, 1) / 255.0 - 0.5) / 0.25
    assert np.allclose(clean.numpy(), expected, atol=1e-6)
