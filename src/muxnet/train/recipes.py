"""Training recipes: the paper's settings as named YAML files over one typed schema, overridable key by key.

A recipe is a mapping of sections (``model``, ``data``, ``optimizer``, ``schedule``, ``training``, ``output``).
Like the architecture specs (:mod:`muxnet.models.spec`), its schema is a frozen dataclass per section: a field's
default is the recipe's default (defined there and nowhere else) and each field carries its check, so a recipe is
validated once, as a whole, and before anything is built; an error names the field's path and the value
(``recipe optimizer.lr: must be > 0, got -1``). A key the schema lacks is refused with the nearest known key
(``recipe optimizer: unknown key 'lr_rate' (did you mean 'lr'?)``) instead of silently ignored, which is why
recipe files (``muxnet/configs/<name>.yaml``) may list only what differs from the defaults.

:class:`ClassificationRecipe` is the schema of ``muxnet train``; :class:`DenseRecipe` is the base of the
detection and segmentation schemas, which add their own ``model`` keys (``muxnet.detection.task.DetectionRecipe``,
``muxnet.segmentation.task.SegmentationRecipe``). The sections every task shares (:class:`OptimizerSection`,
:class:`ScheduleSection`, :class:`TrainingSection`, :class:`OutputSection`) are one definition.

The training loop and ``recipe.yaml`` see what the schema validated as a plain nested dict
(:meth:`RecipeSection.to_dict`), so ``recipe["training"]["seed"]`` reads as it always has and a run directory's
``recipe.yaml`` from before the schema existed (the same keys) loads and resumes.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml


class RecipeError(ValueError):
    """A recipe file or override is invalid; the message names the key and the value."""


# -- field checks ----------------------------------------------------------------------------------------------
# A check returns None for a value it accepts, else the reason ("must be > 0"); the section adds path and value.
Check = Callable[[Any], "str | None"]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def integer(minimum: int | None = None) -> Check:
    """An int (not a bool) of at least ``minimum``."""
    words = "a positive integer" if minimum == 1 else "an integer" + (f" >= {minimum}" if minimum is not None else "")

    def check(value: Any) -> str | None:
        ok = _is_int(value) and (minimum is None or value >= minimum)
        return None if ok else f"must be {words}"
    return check


def number(minimum: float | None = None, above: float | None = None, below: float | None = None,
           maximum: float | None = None) -> Check:
    """A finite int or float within the bounds given (``minimum``/``maximum`` inclusive, ``above``/``below`` not)."""
    low = ("[", minimum) if minimum is not None else ("(", above) if above is not None else None
    high = (maximum, "]") if maximum is not None else (below, ")") if below is not None else None
    if low and high:
        bounds = f"in {low[0]}{low[1]}, {high[0]}{high[1]}"
    elif low:
        bounds = f"{'>=' if low[0] == '[' else '>'} {low[1]}"
    elif high:
        bounds = f"{'<=' if high[1] == ']' else '<'} {high[0]}"
    else:
        bounds = ""

    def check(value: Any) -> str | None:
        if not _is_number(value):
            return f"must be a number {bounds}".rstrip()
        inside = ((minimum is None or value >= minimum) and (above is None or value > above)
                  and (below is None or value < below) and (maximum is None or value <= maximum))
        return None if inside else f"must be {bounds}"
    return check


def text(nonempty: bool = False, says: str | None = None) -> Check:
    """A string (a name, a path); ``says`` replaces the reason given for anything else."""
    def check(value: Any) -> str | None:
        ok = isinstance(value, str) and (bool(value) or not nonempty)
        return None if ok else says or f"must be a {'non-empty ' if nonempty else ''}string"
    return check


def flag() -> Check:
    def check(value: Any) -> str | None:
        return None if isinstance(value, bool) else "must be true or false"
    return check


def one_of(choices: Sequence[Any] | Callable[[], Sequence[Any]]) -> Check:
    """One of ``choices`` (or of what calling it returns: lists owned by modules too heavy to import here)."""
    def check(value: Any) -> str | None:
        allowed = choices() if callable(choices) else choices
        if not isinstance(value, bool) and value in allowed:
            return None
        return f"must be one of {', '.join(repr(c) for c in allowed)}"
    return check


def strings(says: str = "must be a list of strings") -> Check:
    def check(value: Any) -> str | None:
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
        return None if ok else says
    return check


def numbers_or_number(each: Check, says: str) -> Check:
    """A number ``each`` accepts, or a list of them (a step schedule's interval or multistep's milestones)."""
    def check(value: Any) -> str | None:
        values = value if isinstance(value, (list, tuple)) else [value]
        return None if values and all(each(v) is None for v in values) else says
    return check


def optional(check: Check, meaning: str | None = None) -> Check:
    """``None`` (whose ``meaning`` the error states) or what ``check`` accepts."""
    def nullable(value: Any) -> str | None:
        if value is None:
            return None
        reason = check(value)
        return reason and f"{reason} or null" + (f" ({meaning})" if meaning else "")
    return nullable


def setting(default: Any, check: Check) -> Any:
    """A field of a recipe section: its default and its check. Lists are held as tuples (the sections are
    frozen) and given back as lists."""
    return dataclasses.field(default=default, metadata={"check": check})


S = TypeVar("S", bound="RecipeSection")


def section(kind: type[RecipeSection]) -> Any:
    """A field holding a nested section (its defaults when the recipe leaves it out)."""
    return dataclasses.field(default_factory=kind)


def _section_type(f: dataclasses.Field) -> type[RecipeSection] | None:
    kind = f.default_factory
    return kind if isinstance(kind, type) and issubclass(kind, RecipeSection) else None


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _label(path: str) -> str:
    return f"recipe {path}" if path else "recipe"


def unknown_key(path: str, key: Any, known: Iterable[str]) -> RecipeError:
    """The error for ``key`` in the section at ``path``, naming the nearest known key (or all of them).

    Nearest is by spelling (``momentun``) or else by a shared word (``lr_rate``: ``lr``, ``decay``:
    ``weight_decay``), which spelling alone ranks too far.
    """
    known = sorted(known)
    words = set(str(key).split("_"))
    close = (difflib.get_close_matches(str(key), known, n=1)
             or [k for k in known if words & set(k.split("_"))][:1])
    hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
    return RecipeError(f"{_label(path)}: unknown key {key!r} ({hint})")


@dataclass(frozen=True)
class RecipeSection:
    """A recipe section: frozen, validated when built, its errors naming ``recipe <path>.<field>`` and the value.

    Subclasses declare fields with :func:`setting` (a leaf value and its check) or :func:`section` (a nested
    section); checks that relate fields extend ``__post_init__``.
    """

    path: ClassVar[str] = ""  # where the section sits in a recipe ("optimizer", "data.scenes"); "" for the recipe

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = _section_type(f)
            if kind is not None:
                if isinstance(value, Mapping):
                    object.__setattr__(self, f.name, kind.from_dict(value))
                elif not isinstance(value, kind):
                    raise self.error(f.name, "must be a mapping of its keys", value)
                continue
            if isinstance(value, list):
                value = tuple(value)
                object.__setattr__(self, f.name, value)
            reason = f.metadata["check"](value)
            if reason:
                raise self.error(f.name, reason, _plain(value))

    @classmethod
    def error(cls, name: str, reason: str, value: Any) -> RecipeError:
        """``recipe <path>.<name>: <reason>, got <value>``."""
        return RecipeError(f"recipe {f'{cls.path}.' if cls.path else ''}{name}: {reason}, got {value!r}")

    @classmethod
    def from_dict(cls: type[S], data: Mapping[str, Any]) -> S:
        """The section a mapping describes; keys it leaves out take their defaults, unknown keys are refused."""
        if not isinstance(data, Mapping):
            raise RecipeError(f"{_label(cls.path)}: must be a mapping of its keys, got {data!r}")
        known = [f.name for f in dataclasses.fields(cls)]
        for key in data:
            if key not in known:
                raise unknown_key(cls.path, key, known)
        return cls(**data)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every key of the section with its default, as a plain nested dict (without validating: the bases
        of task schemas leave their task's keys unset)."""
        return {f.name: kind.defaults() if (kind := _section_type(f)) is not None else _plain(f.default)
                for f in dataclasses.fields(cls)}

    def to_dict(self) -> dict[str, Any]:
        """Every key with its value as a plain nested dict (lists, not tuples): what the loop reads and
        ``recipe.yaml`` holds."""
        return {f.name: value.to_dict() if isinstance(value := getattr(self, f.name), RecipeSection)
                else _plain(value) for f in dataclasses.fields(self)}


# -- the sections every task shares ------------------------------------------------------------------------------
@dataclass(frozen=True)
class OptimizerSection(RecipeSection):
    path: ClassVar[str] = "optimizer"

    name: str = setting("sgd", text(nonempty=True))  # any timm optimizer name (sgd, rmsproptf, adamw, ...)
    lr: float = setting(0.1, number(above=0))
    momentum: float = setting(0.9, number(minimum=0))
    weight_decay: float = setting(0.0, number(minimum=0))
    alpha: float | None = setting(None, optional(number(above=0), "timm's default"))  # RMSProp decay
    eps: float | None = setting(None, optional(number(above=0), "timm's default"))
    nesterov: bool | None = setting(None, optional(flag(), "timm's default"))


@dataclass(frozen=True)
class ScheduleSection(RecipeSection):
    path: ClassVar[str] = "schedule"

    name: str = setting("cosine", text(nonempty=True))  # any timm scheduler name (cosine, step, multistep, poly, ...)
    epochs: int = setting(10, integer(minimum=1))
    warmup_epochs: float = setting(0, number(minimum=0))  # fractions of an epoch too
    warmup_lr: float = setting(1.0e-6, number(minimum=0))
    min_lr: float = setting(0.0, number(minimum=0))
    # step schedules: the decay interval in epochs (multistep: the list of milestones)
    decay_epochs: float | list[float] | None = setting(None, optional(numbers_or_number(
        number(above=0), "must be a number > 0 or a list of them")))
    decay_rate: float = setting(0.1, number(above=0))  # the poly schedule's power


@dataclass(frozen=True)
class TrainingSection(RecipeSection):
    """What the training loop reads for every task."""

    path: ClassVar[str] = "training"

    seed: int = setting(0, integer(minimum=0))
    device: str | None = setting(None, optional(text(nonempty=True), "cuda when available, else cpu"))
    threads: int | None = setting(None, optional(integer(minimum=1), "torch's default"))  # CPU threads for torch
    grad_clip: float | None = setting(None, optional(number(above=0), "no clipping"))  # max global gradient norm
    checkpoint_every_steps: int = setting(0, integer(minimum=0))  # also write last.pt every N steps (0: per epoch)
    ema_decay: float | None = setting(None, optional(number(above=0, below=1), "no EMA"))  # EMA of the weights
    amp: bool = setting(True, flag())  # mixed precision; only takes effect on CUDA
    channels_last: bool = setting(False, flag())
    sync_bn: bool = setting(False, flag())


@dataclass(frozen=True)
class OutputSection(RecipeSection):
    path: ClassVar[str] = "output"

    dir: str | None = setting(None, optional(text(nonempty=True), "runs/<recipe>-<model>"))
    progress: bool = setting(True, flag())
    tensorboard: bool = setting(False, flag())


# -- classification (muxnet train) -------------------------------------------------------------------------------
def _datasets() -> tuple[str, ...]:
    from ..data import DATASETS
    return DATASETS


def _train_transforms() -> tuple[str, ...]:
    from ..data import TRAIN_TRANSFORMS
    return TRAIN_TRANSFORMS


def _digit_pools() -> tuple[str, ...]:
    from ..data.digits import DIGIT_POOLS
    return DIGIT_POOLS


def _train_renders() -> tuple[str, ...]:
    from ..data.cluttered import TRAIN_RENDERS
    return TRAIN_RENDERS


def _difficulties() -> tuple[str, ...]:
    from ..data.cluttered import DIFFICULTIES
    return tuple(DIFFICULTIES)


def _losses() -> tuple[str, ...]:
    from .optim import LOSSES
    return LOSSES


@dataclass(frozen=True)
class ClassificationModelSection(RecipeSection):
    path: ClassVar[str] = "model"

    name: str = setting("muxnet_digits", text(nonempty=True, says="must name a zoo model or a spec file"))
    # checkpoint to start from; a differently sized classifier is re-initialised
    pretrained: str | None = setting(None, optional(text(nonempty=True)))
    drop_rate: float | None = setting(None, optional(number(minimum=0, below=1), "the spec's own"))
    drop_path_rate: float | None = setting(None, optional(number(minimum=0, below=1), "the spec's own"))


@dataclass(frozen=True)
class ClassificationDataSection(RecipeSection):
    path: ClassVar[str] = "data"

    dataset: str = setting("digits", one_of(_datasets))  # digits | imagefolder | imagenetv2 | cifar10 | ...
    root: str | None = setting(None, optional(text(nonempty=True)))
    image_size: int = setting(32, integer(minimum=8))
    batch_size: int = setting(64, integer(minimum=1))  # per process
    eval_batch_size: int | None = setting(None, optional(integer(minimum=1), "2 x batch_size"))
    # loader processes; None: the cores available to each process, at most 8
    workers: int | None = setting(None, optional(integer(minimum=0), "the cores available"))
    train_transform: str = setting("none", one_of(_train_transforms))  # none | inception | resize_flip
    eval_crop_pct: float | None = setting(None, optional(number(above=0), "the model's crop_pct"))
    # held out of train when the layout has no validation split (None: 0, or 0.2 for a flat class folder,
    # which has no other held-out images)
    val_fraction: float | None = setting(None, optional(number(minimum=0, below=1)))
    skip_bad_images: bool = setting(False, flag())
    seed: int = setting(0, integer(minimum=0))  # fixes the held-out split
    # digits only: all images, or "scenes_train" (those of the embedded scenes' training split: a backbone
    # pre-trained for the scenes never sees their test)
    digits_pool: str = setting("all", one_of(_digit_pools))
    # cluttered only: "fixed" training renders, or "per_epoch" (drawn anew each epoch, nothing to memorise)
    train_renders: str = setting("fixed", one_of(_train_renders))
    # cluttered only: the composition (muxnet.data.cluttered.DIFFICULTIES), "standard", "hard" or "pairs"
    difficulty: str = setting("standard", one_of(_difficulties))


@dataclass(frozen=True)
class ClassificationTrainingSection(TrainingSection):
    # cross_entropy | bce; None follows the labels (bce for multi-label data)
    loss: str | None = setting(None, optional(one_of(_losses), "follows the labels"))
    label_smoothing: float = setting(0.0, number(minimum=0, below=1))


@dataclass(frozen=True)
class ClassificationRecipe(RecipeSection):
    """The schema of ``muxnet train``/``eval`` recipes (``digits``, ``imagenet``, ``transfer``, ``chestxray``)."""

    recipe: str = setting("custom", text(nonempty=True))
    model: ClassificationModelSection = section(ClassificationModelSection)
    data: ClassificationDataSection = section(ClassificationDataSection)
    optimizer: OptimizerSection = section(OptimizerSection)
    schedule: ScheduleSection = section(ScheduleSection)
    training: ClassificationTrainingSection = section(ClassificationTrainingSection)
    output: OutputSection = section(OutputSection)


# -- the dense tasks (detection, segmentation) -------------------------------------------------------------------
@dataclass(frozen=True)
class BackbonePretrainSection(RecipeSection):
    """The digit classifier a ``backbone_weights: digits`` run trains first (``muxnet train``'s embedded recipe)."""

    path: ClassVar[str] = "model.backbone_pretrain"

    epochs: int = setting(30, integer(minimum=1))
    image_size: int = setting(32, integer(minimum=8))


@dataclass(frozen=True)
class DenseModelSection(RecipeSection):
    """A dense task's model; each task's schema extends it with its own keys and its default ``name``."""

    path: ClassVar[str] = "model"

    name: str | None = setting(None, text(nonempty=True, says="must name a model"))
    # a checkpoint of the backbone (ImageNet weights, as the paper), or "digits": the backbone first trained as a
    # digit classifier (backbone_pretrain) inside the run directory, which is to the embedded scenes what
    # ImageNet weights are to VOC and ADE20K
    backbone_weights: str | None = setting(None, optional(text(nonempty=True,
                                                               says="must be a checkpoint path, 'digits'")))
    backbone_pretrain: BackbonePretrainSection = section(BackbonePretrainSection)


@dataclass(frozen=True)
class ScenesSection(RecipeSection):
    """The embedded scenes (:mod:`muxnet.data.scenes`): canvases per split, their side, digits per canvas and
    the digits' sides in pixels."""

    path: ClassVar[str] = "data.scenes"

    train: int = setting(1000, integer(minimum=1))
    test: int = setting(300, integer(minimum=1))
    size: int = setting(128, integer(minimum=8))
    seed: int = setting(0, integer(minimum=0))
    max_digits: int = setting(3, integer(minimum=1))
    digit_sizes: list[int] | None = setting(None, optional(
        lambda v: None if isinstance(v, tuple) and len(v) == 2 and all(map(_is_int, v)) else
        "must be [smallest, largest] digit side in pixels", "22-44% of the size"))

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.digit_sizes is not None and not 8 <= self.digit_sizes[0] <= self.digit_sizes[1] <= self.size:
            raise self.error("digit_sizes", f"must satisfy 8 <= smallest <= largest <= size ({self.size})",
                             list(self.digit_sizes))


@dataclass(frozen=True)
class DenseDataSection(RecipeSection):
    path: ClassVar[str] = "data"

    dataset: str = setting("scenes", text(nonempty=True))  # scenes (embedded) or the task's standard layout
    root: str | None = setting(None, optional(text(nonempty=True), "the embedded scenes under ~/.cache/muxnet"))
    image_size: int = setting(300, integer(minimum=32))
    batch_size: int = setting(32, integer(minimum=1))
    eval_batch_size: int | None = setting(None, optional(integer(minimum=1), "batch_size"))
    workers: int = setting(0, integer(minimum=0))
    augment: list[str] = setting((), strings("must be a list of augmentation steps"))  # the task's steps, in order
    skip_bad_images: bool = setting(False, flag())
    scenes: ScenesSection = section(ScenesSection)


@dataclass(frozen=True)
class DenseRecipe(RecipeSection):
    """The schema shared by the dense tasks. A task's schema subclasses it, naming its ``kind`` (the recipe's
    ``task``) and ``datasets`` (values of ``data.dataset``) as class keywords, and adds its model section::

        class DetectionRecipe(DenseRecipe, kind="detect", datasets=("scenes", "voc")): ...
    """

    kind: ClassVar[str | None] = None
    datasets: ClassVar[tuple[str, ...]] = ()

    recipe: str = setting("custom", text(nonempty=True))
    task: str | None = setting(None, optional(text(nonempty=True), "the schema's kind"))
    model: DenseModelSection = section(DenseModelSection)
    data: DenseDataSection = section(DenseDataSection)
    optimizer: OptimizerSection = section(OptimizerSection)
    schedule: ScheduleSection = section(ScheduleSection)
    training: TrainingSection = section(TrainingSection)
    output: OutputSection = section(OutputSection)

    def __init_subclass__(cls, kind: str | None = None, datasets: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.kind, cls.datasets = kind, tuple(datasets)

    def __post_init__(self) -> None:
        if self.task is None:  # a recipe file need not repeat the task its schema is for
            object.__setattr__(self, "task", self.kind)
        super().__post_init__()
        if self.task != self.kind:
            raise self.error("task", f"not a '{self.kind}' recipe", self.task)
        if self.data.dataset not in self.datasets:
            raise self.data.error("dataset", f"must be one of {', '.join(map(repr, self.datasets))}",
                                  self.data.dataset)


DEFAULTS: dict[str, Any] = ClassificationRecipe.defaults()  # every key of a classification recipe, as a dict


# -- reading recipes -------------------------------------------------------------------------------------------
class RecipeLoader(yaml.SafeLoader):
    """YAML as recipes read it: ``1e-3`` is a number, as in YAML 1.2 (PyYAML's YAML 1.1 reads a string), so
    ``--set optimizer.lr=1e-3`` means what it says."""


RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[0-9][0-9_]*[eE][-+]?[0-9]+|\.[0-9_]+"
               r"(?:[eE][-+]?[0-9]+)?|\.(?:inf|Inf|INF))$|^\.(?:nan|NaN|NAN)$"),
    list("-+0123456789."))


def recipe_names() -> list[str]:
    """Recipes shipped with the package."""
    folder = resources.files("muxnet") / "configs"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def read_recipe_file(name_or_path: str | Path) -> tuple[dict[str, Any], str]:
    """The mapping in a recipe file (a ``.yaml`` path, or the name of a shipped recipe) and a label for it
    that errors start with. Nothing is validated: the file lists only what differs from the defaults."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise RecipeError(f"no recipe file at {path}")
        text_, where = path.read_text(), str(path)
    else:
        if str(name_or_path) not in recipe_names():
            raise RecipeError(f"unknown recipe {str(name_or_path)!r}; shipped recipes: {', '.join(recipe_names())}"
                              " (or pass a .yaml file)")
        res = resources.files("muxnet") / "configs" / f"{name_or_path}.yaml"
        text_, where = res.read_text(), f"muxnet/configs/{name_or_path}.yaml"
    try:
        data = yaml.load(text_, Loader=RecipeLoader) or {}
    except yaml.YAMLError as err:
        raise RecipeError(f"{where}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{where}: a recipe must be a mapping, got {type(data).__name__}")
    return data, where


def merge_recipe(base: Mapping[str, Any], update: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A copy of ``base`` (a complete recipe: every key of its schema) with the keys ``update`` gives replaced,
    section by section. A key ``base`` lacks is refused here, with ``where`` (the file or override it came
    from) in front; values are the schema's to check."""
    merged = copy.deepcopy(dict(base))

    def merge(into: dict[str, Any], changes: Mapping[str, Any], path: str) -> None:
        for key, value in changes.items():
            dotted = f"{path}.{key}" if path else str(key)
            if key not in into:
                raise RecipeError(f"{where}: {unknown_key(path, key, into)}")
            if isinstance(into[key], dict):
                if not isinstance(value, Mapping):
                    raise RecipeError(f"{where}: recipe {dotted}: must be a mapping of its keys, got {value!r}")
                merge(into[key], value, dotted)
            elif isinstance(value, Mapping):
                raise RecipeError(f"{where}: recipe {dotted}: takes a single value, got a mapping")
            else:
                into[key] = copy.deepcopy(value)

    merge(merged, update, "")
    return merged


def parse_override(text_: str) -> tuple[list[str], Any]:
    """``"optimizer.lr=0.01"`` -> (["optimizer", "lr"], 0.01); the value is read as YAML (numbers, null, lists)."""
    if "=" not in text_:
        raise RecipeError(f"override {text_!r} must look like section.key=value, e.g. optimizer.lr=0.01")
    key, raw = text_.split("=", 1)
    try:
        value = yaml.load(raw, Loader=RecipeLoader) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(recipe: Mapping[str, Any], overrides: Iterable[str | tuple[str, Any]]) -> dict[str, Any]:
    """A copy of ``recipe`` with ``section.key=value`` strings (or ``(dotted key, value)`` pairs) applied."""
    recipe = copy.deepcopy(dict(recipe))
    for item in overrides:
        if isinstance(item, str):
            path, value = parse_override(item)
        else:
            path, value = item[0].split("."), item[1]
        nested: Any = value
        for part in reversed(path):
            nested = {part: nested}
        recipe = merge_recipe(recipe, nested, f"override {'.'.join(path)}={value!r}")
    return recipe


def validate_recipe(recipe: Mapping[str, Any], schema: type[RecipeSection] = ClassificationRecipe
                    ) -> dict[str, Any]:
    """Check ``recipe`` against ``schema`` (checks that need no model or data, so a bad command fails before
    anything is built); returns it as a complete plain dict, keys it leaves out at their defaults."""
    return schema.from_dict(recipe).to_dict()


def load_recipe(name_or_path: str | Path = "digits", overrides: Iterable[str | tuple[str, Any]] = (),
                schema: type[RecipeSection] = ClassificationRecipe) -> dict[str, Any]:
    """The full recipe: ``schema``'s defaults, then the named recipe (or a YAML file), then ``overrides``,
    validated once, as a plain nested dict."""
    data, where = read_recipe_file(name_or_path)
    recipe = apply_overrides(merge_recipe(schema.defaults(), data, where), overrides)
    return validate_recipe(recipe, schema)


RECIPE_FOR_DATASET = {"cluttered": "cluttered", "digits": "digits", "imagefolder": "imagenet",
                      "imagenetv2": "imagenet", "cifar10": "transfer", "cifar100": "transfer", "chestxray": "chestxray"}


def saved_recipe(run_dir: str | Path) -> Path:
    """The ``recipe.yaml`` a run directory was started with (what a resume continues)."""
    saved = Path(run_dir) / "recipe.yaml"
    if not saved.is_file():
        raise RecipeError(f"cannot resume {run_dir}: it has no recipe.yaml (is it a muxnet run directory?)")
    return saved


def build_recipe(recipe: str | Path | None = None, data: str | Path | None = None, dataset: str | None = None,
                 resume: str | Path | None = None, overrides: Iterable[str | tuple[str, Any]] = ()) -> dict[str, Any]:
    """The recipe a ``muxnet train``/``eval`` command line describes.

    ``resume`` (a run directory) starts from that run's saved ``recipe.yaml``. Otherwise ``recipe`` is a shipped
    name or a file; when it is not given it follows the data: no data is the embedded default
    (``cluttered``, :data:`muxnet.data.DEFAULT_DATASET`), a CIFAR directory the ``transfer`` recipe,
    ChestX-Ray14 ``chestxray``, an ImageFolder ``imagenet``.
    """
    from ..data import DEFAULT_DATASET, detect_dataset

    pairs: list[str | tuple[str, Any]] = []
    if resume is not None:
        base: str | Path = saved_recipe(resume)
        pairs.append(("output.dir", str(resume)))
    else:
        if data is not None and dataset is None:
            dataset = detect_dataset(data)
        base = recipe or RECIPE_FOR_DATASET[dataset or DEFAULT_DATASET]
    if data is not None:
        pairs.append(("data.root", str(data)))
    if dataset is not None:
        pairs.append(("data.dataset", dataset))
    return load_recipe(base, [*pairs, *overrides])


__all__ = [
    "DEFAULTS",
    "RECIPE_FOR_DATASET",
    "BackbonePretrainSection",
    "ClassificationDataSection",
    "ClassificationModelSection",
    "ClassificationRecipe",
    "ClassificationTrainingSection",
    "DenseDataSection",
    "DenseModelSection",
    "DenseRecipe",
    "OptimizerSection",
    "OutputSection",
    "RecipeError",
    "RecipeLoader",
    "RecipeSection",
    "ScenesSection",
    "ScheduleSection",
    "TrainingSection",
    "apply_overrides",
    "build_recipe",
    "flag",
    "integer",
    "load_recipe",
    "merge_recipe",
    "number",
    "numbers_or_number",
    "one_of",
    "optional",
    "parse_override",
    "read_recipe_file",
    "recipe_names",
    "saved_recipe",
    "section",
    "setting",
    "strings",
    "text",
    "unknown_key",
    "validate_recipe",
]
