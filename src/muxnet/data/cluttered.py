"""The embedded default task: cluttered digits, a 10-class task where capacity matters (100 classes as pairs).

scikit-learn's 1,797 real 8x8 digits saturate: every small network reaches 97-98% and a network 16x larger
buys nothing, so nothing can be learnt from them about which architecture is better. Here, in the spirit of
Cluttered MNIST (Mnih et al., "Recurrent models of visual attention", NeurIPS 2014), each image is one digit
placed at a random position, size and rotation on a coloured canvas with fragments of other digits as
distractors and pixel noise; the label is the digit's class.

The source digits are split once into three disjoint pools (train/val/test: 60/20/20%, fixed, stratified by
class), so no validation or test image shows a handwritten digit seen in training, whatever the renders. The
renders of a split are a function of ``(split, seed, count)`` only: the layout parameters are drawn with
NumPy's ``default_rng`` (integers and floats exact on every CPU), the drawing is bilinear sampling
(``grid_sample``), and images are stored as uint8, so two calls with the same arguments give the same images.

Its difficulty knobs (:class:`ClutterParams`) were chosen by measurement (``BENCHMARKS.md``, "The
cluttered-digits task"): harder variants (random colours, larger fragments anywhere) left short trainings at
chance; with these, mean test accuracy rises with network width and the widest network of the search space's
size stays well below saturation, though not yet with non-overlapping intervals over five seeds. With training
renders drawn each epoch the standard composition saturates (every width near 98%); the ``hard`` one keeps
the widths apart (75.4 / 80.9 / 83.5% over five seeds, 30 epochs): the first step up has disjoint 95% intervals,
the second (p = 0.054) does not yet, which is where the capacity check stands. The ``pairs`` composition puts
two digits side by side and labels the pair (100 classes), so that what a network must learn is more than
which shapes are present: which is left of which. In the hard composition a fragment in the digit's colour often
crosses its strokes and makes the image illegible; the ``legible`` one keeps fragments clear of the digit
(``ClutterParams.fragment_gap``) and puts its difficulty in the pose instead; it brings a 0.34M-param body to
96% and a 2.3M one no higher, so only the pairs have shown a larger body to pay (2 points, five seeds).
``legible_pairs`` applies the same rule to the pairs; there bodies of 0.35M, 0.93M and 2.35M params all reach
about 97% (one seed): the 2 points on ``pairs`` came with its crossing fragments, not with the pair label.
``texture`` draws the digit and its fragments as a grating orthogonal to the ground's grating, in the same two
colours and only slightly brighter (``ClutterParams.grating``, ``lift``): legible, but read in two steps, the
local orientation and then the shape of the region where it changes. Bodies of 0.34M to 2.31M params end there
at 90.7-91.1% (one seed): the larger ones learn sooner, and all stop at images the grating makes unreadable.
``glyphs`` replaces the digits by procedurally drawn shapes (:mod:`muxnet.data.glyphs`, 100 classes), so that no
source image repeats: bodies of 0.35M and 2.35M params end at 96.9% and 98.0% there (one seed). ``glyphs1000``
draws 1,000 of them, each with a twin two points away: bodies of 0.47M, 1.12M and 2.67M params end at 56%, 69% and
71% (three seeds), ordered by width in every seed but with overlapping intervals; with 60 epochs the two larger end
less than a point apart (86.4% and 87.2%, one seed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import Dataset, TensorDataset

from .glyphs import GlyphParams, random_colours, render_glyphs
from .splits import DataSplits

NUM_CLASSES = 10
SPLITS = ("train", "val", "test")
POOL_FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}
POOL_SEED = 2020  # the source pools never change: a model's test digits are never its training digits
DEFAULT_COUNTS = {"train": 10_000, "val": 2_000, "test": 2_000}
# stream offsets: each split draws from its own random stream, so changing one split's count leaves the others
_STREAM = {"train": 0, "val": 1, "test": 2}


@dataclass(frozen=True)
class ClutterParams:
    """How each image is composed, in units of a 32-pixel canvas (scaled with the canvas size)."""

    digit_size: tuple[float, float] = (18.0, 26.0)  # the digit's side in pixels, uniform
    max_offset: float | None = 3.0  # the digit's centre at most this far from the canvas centre (None: anywhere)
    max_rotation: float = 10.0  # degrees, uniform in +-max_rotation, digits and fragments alike
    distractors: tuple[int, int] = (1, 2)  # fragments per image, uniform inclusive, anywhere on the canvas
    fragment_size: tuple[float, float] = (4.0, 6.0)  # a fragment's side in pixels
    fragment_crop: float = 0.5  # a fragment is this fraction of a source digit's side (a 4x4 of the 8x8)
    background: tuple[float, float] = (0.0, 0.3)  # the background's intensity, uniform
    foreground: tuple[float, float] = (0.7, 1.0)  # the digit's (and fragments') intensity
    tint: float = 0.1  # each colour channel departs from its intensity by up to this much (0: grey)
    noise: float = 0.04  # std of the Gaussian pixel noise, in [0, 1] intensity
    digits: int = 1  # digits per image, side by side in equal slots; the label reads them left to right
    fragment_gap: float | None = None  # fragments erased within this many pixels of a digit's strokes (None: may cross)
    grating: tuple[float, float] | None = None  # texture-defined shapes: the period range in pixels (None: flat)
    lift: float = 0.0  # with a grating: the figure's mean is this fraction of the contrast above the ground's

    def __post_init__(self):
        if self.digits < 1:
            raise ValueError(f"digits must be >= 1, got {self.digits}")
        if self.fragment_gap is not None and self.fragment_gap < 0:
            raise ValueError(f"fragment_gap must be >= 0 or None, got {self.fragment_gap}")
        if self.grating is not None and not 2.0 <= self.grating[0] <= self.grating[1]:
            raise ValueError(f"grating must be a period range (low, high) with 2 <= low <= high, got {self.grating}")
        if self.digits > 1 and self.max_offset is None:
            raise ValueError("several digits need max_offset: a digit placed anywhere leaves no left-to-right order")

    @property
    def num_classes(self) -> int:
        """One class per digit sequence: 10 for one digit, 100 for a pair (``"07"`` is class 7)."""
        return NUM_CLASSES ** self.digits


# Named compositions, so that a recipe can choose one (``data.difficulty``) and a record of it says which.
# ``hard`` is meant for training renders drawn each epoch: with unlimited renders the standard composition
# brings every width to the plain digits' ceiling (``BENCHMARKS.md``, the capacity check), so capacity can
# only show on clutter a small network fails to ignore.
DIFFICULTIES = {
    "standard": ClutterParams(),
    "hard": ClutterParams(digit_size=(16.0, 24.0), max_offset=4.0, max_rotation=25.0, distractors=(2, 4),
                          fragment_size=(5.0, 8.0), background=(0.0, 0.35), foreground=(0.65, 1.0), tint=0.15,
                          noise=0.06),
    # two digits, label = the pair (100 classes): the body must tell which digit is where, not only which digits
    # are there; each digit is in the hard composition's range of clutter, at half the canvas's width
    "pairs": ClutterParams(digit_size=(11.0, 15.0), max_offset=2.0, max_rotation=15.0, distractors=(1, 3),
                           fragment_size=(4.0, 7.0), background=(0.0, 0.35), foreground=(0.65, 1.0), tint=0.15,
                           noise=0.05, digits=2),
    # one digit that a reader can always label: the hard composition's clutter and colours, but no fragment comes
    # within 3 pixels of the digit's strokes, so none can complete or cross it; the difficulty is moved into the
    # pose (12-24 px, up to 5 px off centre, rotated up to 30 degrees), which a network can learn
    "legible": ClutterParams(digit_size=(12.0, 24.0), max_offset=5.0, max_rotation=30.0, distractors=(2, 4),
                             fragment_size=(5.0, 8.0), background=(0.0, 0.35), foreground=(0.65, 1.0), tint=0.15,
                             noise=0.06, fragment_gap=3.0),
    # the pairs with the legible composition's rule, scaled to half-size digits (no fragment within 2 pixels of
    # a digit's strokes): on ``pairs`` every body stopped near 80%, about what two often illegible digits allow
    # (``BENCHMARKS.md``); with that floor gone, what is left is telling the two digits and their order apart
    "legible_pairs": ClutterParams(digit_size=(11.0, 15.0), max_offset=2.0, max_rotation=15.0, distractors=(1, 3),
                                   fragment_size=(4.0, 7.0), background=(0.0, 0.35), foreground=(0.65, 1.0),
                                   tint=0.15, noise=0.05, digits=2, fragment_gap=2.0),
    # the digit and its fragments drawn by texture: a grating of 2.5-4 px orthogonal to the ground's, between
    # the same two colours and a fifth of the contrast brighter (with none, networks sat at chance for epochs
    # before they found the shapes, BENCHMARKS.md); large, upright-ish digits, so that the texture is the difficulty
    "texture": ClutterParams(digit_size=(20.0, 28.0), max_offset=3.0, max_rotation=15.0, distractors=(1, 2),
                             fragment_size=(6.0, 9.0), background=(0.0, 0.3), foreground=(0.7, 1.0), tint=0.15,
                             noise=0.06, fragment_gap=3.0, grating=(2.5, 4.0), lift=0.2),
    # 100 classes of three-stroke paths drawn anew in every image (muxnet.data.glyphs): no source images to run out of
    "glyphs": GlyphParams(),
    # the same strokes, 1,000 classes: every class has a twin two of its four points away, and each is seen about
    # ten times an epoch; the closest any composition has come to the capacity check (BENCHMARKS.md), not met
    "glyphs1000": GlyphParams(classes=1000),
}


def composition(params: ClutterParams | str) -> ClutterParams:
    """``params`` itself, or the composition :data:`DIFFICULTIES` names so."""
    if isinstance(params, ClutterParams):
        return params
    if params not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {tuple(DIFFICULTIES)}, got {params!r}")
    return DIFFICULTIES[params]


def source_pools() -> dict[str, np.ndarray]:
    """Indices into scikit-learn's digits of each split's source images: disjoint, stratified by class."""
    labels = _source()[1]
    rng = np.random.default_rng(POOL_SEED)
    pools: dict[str, list[int]] = {s: [] for s in SPLITS}
    for digit in range(NUM_CLASSES):
        members = rng.permutation(np.flatnonzero(labels == digit))
        n_train = round(len(members) * POOL_FRACTIONS["train"])
        n_val = round(len(members) * POOL_FRACTIONS["val"])
        pools["train"] += members[:n_train].tolist()
        pools["val"] += members[n_train:n_train + n_val].tolist()
        pools["test"] += members[n_train + n_val:].tolist()
    return {s: np.sort(np.array(v)) for s, v in pools.items()}


@lru_cache(maxsize=1)
def _source() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as sklearn_digits

    data = sklearn_digits()
    return (data.images / 16.0).astype(np.float32), data.target.astype(np.int64)


def _affine(centre: np.ndarray, side: np.ndarray, angle: np.ndarray, canvas: int, crop_centre: np.ndarray,
            crop: float) -> torch.Tensor:
    """``grid_sample`` matrices placing a square of ``side`` pixels, rotated by ``angle`` (radians) and centred
    at ``centre`` (pixels), showing the ``crop`` fraction of the source around ``crop_centre`` (normalised)."""
    scale = canvas / side * crop  # canvas coordinates -> source coordinates
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    c = centre / canvas * 2 - 1  # pixels -> [-1, 1]
    theta = np.empty((len(side), 2, 3))
    theta[:, 0, 0], theta[:, 0, 1] = cos, sin
    theta[:, 1, 0], theta[:, 1, 1] = -sin, cos
    theta[:, :, 2] = crop_centre - np.einsum("nij,nj->ni", theta[:, :, :2], c)
    return torch.from_numpy(theta.astype(np.float32))


def _stamp(images: np.ndarray, theta: torch.Tensor, canvas: int) -> torch.Tensor:
    """Each source image drawn through its matrix onto an empty canvas: N x 1 x canvas x canvas coverage."""
    if len(images) == 0:
        return torch.zeros(0, 1, canvas, canvas)
    source = torch.from_numpy(images)[:, None]
    grid = F.affine_grid(theta, [len(images), 1, canvas, canvas], align_corners=False)
    return F.grid_sample(source, grid, mode="bilinear", padding_mode="zeros", align_corners=False).clamp_(0, 1)


def _near_strokes(digit: torch.Tensor, per_image: int, gap: float) -> torch.Tensor:
    """N x 1 x H x W: 1 within ``gap`` pixels (a square neighbourhood) of any digit's strokes, else 0.

    A fragment that crosses or touches a digit in the digit's colour can turn a 3 into an 8, an image no reader
    can label (``BENCHMARKS.md``, the hard composition's errors); erased there, fragments stay clutter."""
    strokes = (digit > 0.1).float().unflatten(0, (-1, per_image)).amax(dim=1)
    reach = math.ceil(gap)
    return F.max_pool2d(strokes, 2 * reach + 1, stride=1, padding=reach) if reach else strokes


def _flat(background: np.ndarray, digit: torch.Tensor, fragments: torch.Tensor, owner: torch.Tensor,
          n_frag: np.ndarray, f_colour: np.ndarray, colour: np.ndarray, per_image: int) -> torch.Tensor:
    """The fragments and then the digits painted over the background, each in its flat colour."""
    canvas = digit.shape[-1]
    f_colour = torch.from_numpy(f_colour.astype(np.float32))[:, :, None, None]
    out = torch.from_numpy(background.astype(np.float32))[:, :, None, None].expand(-1, -1, canvas, canvas).clone()
    first = np.concatenate([[0], np.cumsum(n_frag)[:-1]])
    for layer in range(int(n_frag.max(initial=0))):  # fragment k of every image at once, in drawing order
        has = n_frag > layer
        rows = torch.from_numpy(first[has] + layer)
        target = owner[rows]
        alpha = fragments[rows]
        out[target] = out[target] * (1 - alpha) + f_colour[rows] * alpha
    colour_t = torch.from_numpy(colour.astype(np.float32))[:, :, None, None]
    for k in range(per_image):  # the digits over their fragments, in one colour per image
        alpha = digit[k::per_image]
        out = out * (1 - alpha) + colour_t * alpha
    return out


def _gratings(rng: np.random.Generator, count: int, canvas: int, period: tuple[float, float], unit: float):
    """Two sinusoidal gratings per image in [0, 1], orthogonal to each other, same period, random phases:
    N x 1 x H x W each (figure, ground)."""
    p = rng.uniform(*period, count) * unit
    angle = rng.uniform(0, np.pi, count)
    phase = rng.uniform(0, 2 * np.pi, (count, 2))
    yy, xx = np.meshgrid(np.arange(canvas) + 0.5, np.arange(canvas) + 0.5, indexing="ij")

    def wave(a, ph):
        along = xx[None] * np.cos(a)[:, None, None] + yy[None] * np.sin(a)[:, None, None]
        return 0.5 + 0.5 * np.sin(2 * np.pi * along / p[:, None, None] + ph[:, None, None])

    figure, ground = wave(angle, phase[:, 0]), wave(angle + np.pi / 2, phase[:, 1])
    return (torch.from_numpy(figure.astype(np.float32))[:, None], torch.from_numpy(ground.astype(np.float32))[:, None])


def _texture_defined(shapes: torch.Tensor, background: np.ndarray, colour: np.ndarray, params: ClutterParams,
                     rng: np.random.Generator, unit: float) -> torch.Tensor:
    """Images where only texture marks the shapes: the ground and the shapes (``shapes``: N x 1 x H x W
    coverage of the digits and fragments) are gratings between the same two colours, orthogonal to each other,
    and the shapes sit ``params.lift`` of the contrast higher, a first-order cue the ground's texture hides.

    A mask crisp at 0.3 coverage leaves no blurred edge: the shape is where the orientation changes."""
    count, canvas = len(background), shapes.shape[-1]
    figure, ground = _gratings(rng, count, canvas, params.grating, unit)
    inside = (shapes > 0.3).float()
    level = inside * (params.lift + (1 - params.lift) * figure) + (1 - inside) * (1 - params.lift) * ground
    lo = torch.from_numpy(background.astype(np.float32))[:, :, None, None]
    hi = torch.from_numpy(colour.astype(np.float32))[:, :, None, None]
    return lo + (hi - lo) * level


def render(split: str, count: int, seed: int = 0, canvas: int = 32,
           params: ClutterParams = ClutterParams(), epoch: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` images of ``split`` as N x 3 x canvas x canvas uint8 and their labels. ``epoch`` > 0 draws
    another set from the same source pool (:class:`RendersPerEpoch`); epoch 0 is the fixed set."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if count < 1 or canvas < 16 or epoch < 0:
        raise ValueError(f"count must be >= 1, canvas >= 16 and epoch >= 0, got {count}, {canvas} and {epoch}")
    rng = np.random.default_rng([seed, _STREAM[split], POOL_SEED, *([epoch] if epoch else [])])
    if isinstance(params, GlyphParams):
        return render_glyphs(rng, count, canvas, params)
    images, labels = _source()
    pool = source_pools()[split]
    unit = canvas / 32.0
    per_image = params.digits
    pick = pool[rng.integers(0, len(pool), (count, per_image))]  # one column per slot, left to right
    # a darker background under a brighter digit; each colour channel drawn independently
    background = random_colours(rng, params.background, params.tint, count)
    colour = random_colours(rng, params.foreground, params.tint, count)

    def layout(n: int, size_range: tuple[float, float]):
        side = rng.uniform(*size_range, n) * unit
        angle = np.radians(rng.uniform(-params.max_rotation, params.max_rotation, n))
        margin = side / 2 - 2 * unit  # a square may reach 2 pixels over the edge
        centre = margin[:, None] + rng.uniform(0, 1, (n, 2)) * (canvas - 2 * margin)[:, None]
        return side, angle, centre

    side, angle, centre = layout(count * per_image, params.digit_size)
    if params.max_offset is not None:  # each digit near the centre of its slot (one slot: the canvas)
        slot = np.tile(np.arange(per_image), count)
        slot_centre = np.stack([canvas * (2 * slot + 1) / (2 * per_image), np.full(len(slot), canvas / 2)], 1)
        centre = slot_centre + rng.uniform(-1, 1, (count * per_image, 2)) * params.max_offset * unit
    digit = _stamp(images[pick.ravel()], _affine(centre, side, angle, canvas, np.zeros((len(side), 2)), 1.0),
                   canvas)
    # distractors: fragments of other digits of the same pool, drawn under the digit
    n_frag = rng.integers(params.distractors[0], params.distractors[1] + 1, count)
    owner = np.repeat(np.arange(count), n_frag)
    frag_src = pool[rng.integers(0, len(pool), len(owner))]
    f_side, f_angle, f_centre = layout(len(owner), params.fragment_size)
    reach = 1 - params.fragment_crop
    crop_centre = rng.uniform(-reach, reach, (len(owner), 2))
    fragments = _stamp(images[frag_src], _affine(f_centre, f_side, f_angle, canvas, crop_centre,
                                                 params.fragment_crop), canvas)
    f_colour = np.where(rng.uniform(0, 1, (len(owner), 1)) < 0.5, colour[owner],  # half share the digit's colour
                        random_colours(rng, params.foreground, params.tint, len(owner)))
    owner_t = torch.from_numpy(owner)
    if params.fragment_gap is not None and len(owner):
        fragments = fragments * (1 - _near_strokes(digit, per_image, params.fragment_gap * unit))[owner]
    if params.grating is not None:
        shapes = torch.zeros(count, 1, canvas, canvas).index_put_((owner_t,), fragments, accumulate=True)
        for k in range(per_image):
            shapes += digit[k::per_image]
        out = _texture_defined(shapes, background, colour, params, rng, unit)
    else:
        out = _flat(background, digit, fragments, owner_t, n_frag, f_colour, colour, per_image)
    noise = rng.standard_normal((count, 1, canvas, canvas)).astype(np.float32) * params.noise
    out = (out + torch.from_numpy(noise)).clamp_(0, 1)
    place = NUM_CLASSES ** np.arange(per_image - 1, -1, -1)  # the left digit is the most significant
    return out.mul_(255).round_().to(torch.uint8), torch.from_numpy(labels[pick] @ place)


class RendersPerEpoch(Dataset):
    """The training split drawn anew every epoch: ``count`` renders of the fixed training pool, a function of
    ``(seed, epoch)`` only, so a resumed run sees the same images.

    With a fixed set of renders every network eventually memorises it (``BENCHMARKS.md``, the capacity check at
    30 epochs), and what is left to compare is how well the networks generalise from 1,078 handwritten digits;
    new renders each epoch take memorisation away. The training loop calls :meth:`set_epoch` before each epoch
    (``muxnet.data.loaders.TrainLoader``); epoch 0 is the fixed set.
    """

    def __init__(self, count: int, seed: int, canvas: int, params: ClutterParams, mean: float, std: float,
                 first: tuple[torch.Tensor, torch.Tensor] | None = None):
        """``first``: epoch 0's renders (uint8 pixels, labels) when the caller has them already."""
        self.count, self.seed, self.canvas, self.params = count, seed, canvas, params
        self.mean, self.std = mean, std
        self.epoch = -1
        self._show(0, first or render("train", count, seed, canvas, params))

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self._show(epoch, render("train", self.count, self.seed, self.canvas, self.params, epoch))

    def _show(self, epoch: int, rendered: tuple[torch.Tensor, torch.Tensor]) -> None:
        pixels, self.labels = rendered
        self.pixels = pixels.float().div_(255).sub_(self.mean).div_(self.std)
        self.epoch = epoch

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.pixels[index], self.labels[index]


TRAIN_RENDERS = ("fixed", "per_epoch")


def load_cluttered(image_size: int = 32, seed: int = 0, counts: dict[str, int] | None = None,
                   params: ClutterParams | str = "standard", train_renders: str = "fixed") -> DataSplits:
    """Train/val/test tensors of the cluttered digits at ``image_size``, standardised with the training
    split's mean/std (as the digits are). ``seed`` draws the renders; the source pools never change.
    ``params``: a composition or the name of one in :data:`DIFFICULTIES`. ``train_renders``: ``fixed`` (one
    set for the whole run) or ``per_epoch`` (:class:`RendersPerEpoch`); validation and test renders are
    always fixed."""
    if train_renders not in TRAIN_RENDERS:
        raise ValueError(f"train_renders must be one of {TRAIN_RENDERS}, got {train_renders!r}")
    params = composition(params)
    counts = {**DEFAULT_COUNTS, **(counts or {})}
    rendered = {s: render(s, counts[s], seed, image_size, params) for s in SPLITS}
    train_pixels = rendered["train"][0].float().div_(255)
    mean, std = float(train_pixels.mean()), float(train_pixels.std())

    def dataset(split: str) -> Dataset:
        if split == "train" and train_renders == "per_epoch":
            return RendersPerEpoch(counts["train"], seed, image_size, params, mean, std, rendered["train"])
        pixels, labels = rendered[split]
        return TensorDataset(pixels.float().div_(255).sub_(mean).div_(std), labels)

    names = [str(i).zfill(params.digits) for i in range(params.num_classes)]
    return DataSplits(dataset("train"), dataset("val"), dataset("test"), params.num_classes, False, names,
                      "cluttered")


def contact_sheet(path, count: int = 64, seed: int = 0, split: str = "train", difficulty: str = "standard") -> None:
    """A grid of ``count`` renders with their labels (for the docs and for eyeballing the task)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pixels, labels = render(split, count, seed, params=composition(difficulty))
    cols = int(math.ceil(math.sqrt(count)))
    rows = int(math.ceil(count / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 1.0))
    for ax, image, label in zip(np.ravel(axes), pixels, labels):
        ax.imshow(image.permute(1, 2, 0).numpy())
        ax.set_title(str(int(label)).zfill(composition(difficulty).digits), fontsize=7, pad=1)
    for ax in np.ravel(axes):
        ax.axis("off")
    fig.tight_layout(pad=0.2)
    fig.savefig(path, dpi=110)
    plt.close(fig)


__all__ = ["DIFFICULTIES", "ClutterParams", "DEFAULT_COUNTS", "contact_sheet", "load_cluttered", "render",
           "source_pools"]
