"""Procedural glyphs: classes drawn as pen strokes, with no source images to run out of.

Each class is a fixed path of ``strokes`` straight strokes through points of a 4x4 lattice (chosen once, so that
any two classes differ in at least ``min_difference`` of their points); each image draws its class with every
point moved by a little (``jitter``), a random stroke width, pose, colours, noise and a few short distractor
strokes kept clear of the glyph. The classes are as many as asked and the shapes never repeat, so what limits
accuracy is how well a network tells similar paths apart under the pose, not how many examples it has seen.

Rendering is NumPy float64 arithmetic (distances to segments, clipping), exact on every CPU but for the
rotations' sines and cosines, whose last bits may differ between vector units: far below one grey level.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

CLASS_SEED = 4_096  # the classes never change


@dataclass(frozen=True)
class GlyphParams:
    """How each glyph image is composed, in units of a 32-pixel canvas (scaled with the canvas size)."""

    classes: int = 100
    strokes: int = 3  # segments of each class's path (strokes + 1 lattice points)
    min_difference: int = 2  # any two classes' paths differ in at least this many points
    jitter: float = 0.06  # std of each point's displacement, in units of the glyph's side
    size: tuple[float, float] = (14.0, 20.0)  # the glyph's side in pixels (rotated, it stays on the canvas)
    max_offset: float = 2.0
    max_rotation: float = 20.0
    width: tuple[float, float] = (1.6, 2.6)  # stroke width in pixels
    distractors: tuple[int, int] = (1, 3)  # short strokes elsewhere on the canvas
    distractor_length: tuple[float, float] = (4.0, 9.0)
    gap: float = 2.0  # distractor ink erased within this many pixels of the glyph's ink
    background: tuple[float, float] = (0.0, 0.35)
    foreground: tuple[float, float] = (0.65, 1.0)
    tint: float = 0.15
    noise: float = 0.05

    def __post_init__(self):
        if self.classes < 2 or self.strokes < 1:
            raise ValueError(f"need classes >= 2 and strokes >= 1, got {self.classes} and {self.strokes}")
        if not 1 <= self.min_difference <= self.strokes + 1:
            raise ValueError(f"min_difference must be in 1..{self.strokes + 1} (the points of a path), "
                             f"got {self.min_difference}")
        if self.jitter < 0 or self.gap < 0 or not 0 <= self.distractors[0] <= self.distractors[1]:
            raise ValueError(f"need jitter >= 0, gap >= 0 and 0 <= distractors[0] <= distractors[1], got "
                             f"{self.jitter}, {self.gap} and {self.distractors}")

    @property
    def num_classes(self) -> int:
        return self.classes

    @property
    def digits(self) -> int:
        """One glyph per image, read as the one-digit compositions are (class names, contact sheets)."""
        return 1


@lru_cache(maxsize=8)
def class_paths(classes: int, strokes: int, min_difference: int) -> np.ndarray:
    """``classes`` x (strokes + 1) x 2 lattice points in [0, 1]: each class's path, fixed by ``CLASS_SEED``."""
    rng = np.random.default_rng(CLASS_SEED)
    lattice = np.array(list(itertools.product(range(4), range(4))), dtype=np.float64) / 3
    chosen = np.empty((classes, strokes + 1), dtype=np.int64)
    found = misses = 0
    while found < classes and misses < 5_000:  # 5,000 draws in a row rejected: the space is full
        idx = rng.choice(16, strokes + 1, replace=False)  # distinct points: every stroke spans a lattice step
        if _fewest_differences(idx, chosen[:found]) >= min_difference:
            chosen[found] = idx
            found += 1
            misses = 0
        else:
            misses += 1
    if found < classes:
        raise ValueError(f"only {found} paths differ in {min_difference} points; ask for fewer classes")
    return lattice[chosen]


def _fewest_differences(path: np.ndarray, others: np.ndarray) -> int:
    """The fewest points in which ``path`` differs from any of ``others``, each read either way round (a path
    drawn backwards is the same glyph); one more than its points when there are no others."""
    return int(np.minimum((others != path).sum(1), (others != path[::-1]).sum(1)).min(initial=len(path) + 1))


def _segment_distance(px: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from every pixel centre ``px`` (P x 2) to the nearest of each image's segments a->b (N x S x 2,
    ``nan`` for a segment that is absent): N x P."""
    x, y = px[:, 0][None], px[:, 1][None]
    nearest = np.full((len(a), len(px)), np.inf)
    for s in range(a.shape[1]):
        ax, ay = a[:, s, 0:1], a[:, s, 1:2]
        dx, dy = b[:, s, 0:1] - ax, b[:, s, 1:2] - ay
        t = np.clip(((x - ax) * dx + (y - ay) * dy) / np.maximum(dx * dx + dy * dy, 1e-12), 0, 1)
        d = np.sqrt((x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2)
        np.fmin(nearest, d, out=nearest)  # fmin: an absent (nan) segment never wins
    return nearest


def render_glyphs(rng: np.random.Generator, count: int, canvas: int,
                  params: GlyphParams) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` images (N x 3 x canvas x canvas uint8) and labels, every draw from ``rng``."""
    unit = canvas / 32.0
    paths = class_paths(params.classes, params.strokes, params.min_difference)
    labels = rng.integers(0, params.classes, count)
    background = random_colours(rng, params.background, params.tint, count)
    colour = random_colours(rng, params.foreground, params.tint, count)
    points = paths[labels] + rng.normal(0, params.jitter, (count, params.strokes + 1, 2))
    side = rng.uniform(*params.size, count) * unit
    angle = np.radians(rng.uniform(-params.max_rotation, params.max_rotation, count))
    centre = canvas / 2 + rng.uniform(-1, 1, (count, 2)) * params.max_offset * unit
    cos, sin = np.cos(angle), np.sin(angle)
    local = (points - 0.5) * side[:, None, None]
    placed = np.stack([cos[:, None] * local[..., 0] - sin[:, None] * local[..., 1],
                       sin[:, None] * local[..., 0] + cos[:, None] * local[..., 1]], -1) + centre[:, None]
    width = rng.uniform(*params.width, count) * unit
    yy, xx = np.meshgrid(np.arange(canvas) + 0.5, np.arange(canvas) + 0.5, indexing="ij")
    px = np.stack([xx.ravel(), yy.ravel()], -1)
    glyph_d = _segment_distance(px, placed[:, :-1], placed[:, 1:])  # N x P
    ink = np.clip(width[:, None] / 2 + 0.5 - glyph_d, 0, 1)
    # distractors: short strokes anywhere, erased near the glyph's ink so that none extends or crosses it
    n = params.distractors[1]
    start = rng.uniform(0, canvas, (count, n, 2))
    length = rng.uniform(*params.distractor_length, (count, n)) * unit
    heading = rng.uniform(0, 2 * np.pi, (count, n))
    end = start + length[..., None] * np.stack([np.cos(heading), np.sin(heading)], -1)
    present = np.arange(n)[None] < rng.integers(params.distractors[0], n + 1, count)[:, None]
    start[~present] = np.nan
    d = _segment_distance(px, start, end)
    clutter = np.clip(width[:, None] / 2 + 0.5 - d, 0, 1) * (glyph_d > width[:, None] / 2 + params.gap * unit)
    alpha = np.maximum(ink, clutter).reshape(count, 1, canvas, canvas)
    image = background[:, :, None, None] * (1 - alpha) + colour[:, :, None, None] * alpha
    image = np.clip(image + rng.standard_normal((count, 1, canvas, canvas)) * params.noise, 0, 1)
    pixels = torch.from_numpy(np.round(image * 255).astype(np.uint8))
    return pixels, torch.from_numpy(labels)


def random_colours(rng: np.random.Generator, intensity: tuple[float, float], tint: float, n: int) -> np.ndarray:
    """``n`` RGB colours: an intensity drawn from ``intensity``, each channel moved by up to ``tint``
    (the cluttered digits draw theirs the same way)."""
    level = rng.uniform(*intensity, (n, 1))
    return np.clip(level + rng.uniform(-tint, tint, (n, 3)), 0, 1)


__all__ = ["GlyphParams", "class_paths", "random_colours", "render_glyphs"]
