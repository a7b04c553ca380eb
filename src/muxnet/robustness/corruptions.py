"""The ImageNet-C corruptions, generated on the fly and deterministically, for any evaluation set.

The 15 benchmark corruptions and the 4 held-out ones (Hendrycks & Dietterich, ICLR 2019) come from the maintained
``imagecorruptions-imaug`` fork of ``imagecorruptions``: the PyPI release 1.1.2 no longer imports on current
setuptools/scikit-image (it needs ``pkg_resources`` and scikit-image's removed ``multichannel`` argument).

Most corruptions draw from numpy's *global* RNG; ``glass_blur`` and ``impulse_noise`` take a ``seed`` and without
one draw fresh OS entropy. :func:`corrupt` therefore seeds both from (seed, image index, corruption, severity) and
restores the global RNG afterwards, so the same arguments give the same image in any order, in any process.
"""

from __future__ import annotations

import warnings

import numpy as np

BENCHMARK_CORRUPTIONS = (
    "gaussian_noise", "shot_noise", "impulse_noise",
    "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
    "snow", "frost", "fog", "brightness",
    "contrast", "elastic_transform", "pixelate", "jpeg_compression",
)
EXTRA_CORRUPTIONS = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
CORRUPTIONS = BENCHMARK_CORRUPTIONS + EXTRA_CORRUPTIONS
SEVERITIES = (1, 2, 3, 4, 5)
MIN_SIZE = 32  # imagecorruptions refuses smaller images
_TAKES_SEED = ("glass_blur", "impulse_noise")


def _backend():
    try:
        import imagecorruptions
    except ImportError as err:  # an optional dependency
        raise RuntimeError("on-the-fly corruptions need the imagecorruptions-imaug package: "
                           "pip install 'muxnet[robustness]'") from err
    return imagecorruptions


def check_corruption(name: str, severity: int) -> None:
    if name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r}; expected one of {', '.join(CORRUPTIONS)}")
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")


def corruption_seed(seed: int, index: int, name: str, severity: int) -> int:
    """A 32-bit seed that depends on every argument (numpy's SeedSequence mixes them)."""
    entropy = [int(seed) & 0xFFFFFFFF, int(index), CORRUPTIONS.index(name), int(severity)]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def corrupt(image: np.ndarray, name: str, severity: int, seed: int = 0, index: int = 0) -> np.ndarray:
    """``image`` (H x W x 3 uint8, H and W at least 32) under corruption ``name`` at ``severity`` (1-5).

    ``(seed, index)`` fix the random draws: pass the image's position in its dataset as ``index``.
    Returns an H x W x 3 uint8 array.
    """
    check_corruption(name, severity)
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"corrupt expects an H x W x 3 uint8 array, got {getattr(image, 'shape', type(image))}")
    if min(image.shape[:2]) < MIN_SIZE:
        raise ValueError(f"corrupt needs images of at least {MIN_SIZE}x{MIN_SIZE} pixels, got "
                         f"{image.shape[0]}x{image.shape[1]}: upsample first")
    backend = _backend()
    s = corruption_seed(seed, index, name, severity)
    kwargs = {"seed": s} if name in _TAKES_SEED else {}
    state = np.random.get_state()
    try:
        np.random.seed(s)
        with warnings.catch_warnings(), np.errstate(all="ignore"):  # spatter divides 0/0 on flat images
            warnings.simplefilter("ignore", RuntimeWarning)
            out = backend.corrupt(image, corruption_name=name, severity=severity, **kwargs)
    finally:
        np.random.set_state(state)
    out = np.asarray(out, dtype=np.uint8)
    if out.shape != image.shape:  # a few corruptions round the size of non-square inputs
        from PIL import Image

        out = np.asarray(Image.fromarray(out).resize((image.shape[1], image.shape[0]), Image.BILINEAR))
    return out


__all__ = ["BENCHMARK_CORRUPTIONS", "CORRUPTIONS", "EXTRA_CORRUPTIONS", "MIN_SIZE", "SEVERITIES",
           "check_corruption", "corrupt", "corruption_seed"]
