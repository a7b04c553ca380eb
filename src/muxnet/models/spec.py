"""The typed architecture spec: plain records that the builder turns into a network.

A :class:`NetworkSpec` is a stem, stages of :class:`BlockSpec` and a head. Specs are frozen, compare by value,
serialise to JSON/YAML and validate eagerly: an invalid spec raises :class:`SpecError` naming the block and
the field (``stages[2][1].group_factor: ...``). The search produces specs by the thousands, so everything
here is cheap and free of torch.

Block types (``BlockSpec.type``):

* ``"ds"``  depthwise-separable: dw kxk, BN, act, SE, pw 1x1, BN (+ residual).
* ``"ir"``  inverted residual: pw 1x1 expand, BN, act, dw kxk (single or mixed kernels, the block's stride),
  BN, act, SE, pw 1x1 project, BN (+ residual). The reduction block of MUXNet stages.
* ``"mux"`` MUXConv block: channel multiplexing (leave-out ``L``) around an inverted residual whose kxk conv is
  the spatially multiplexed grouped conv (``G``, ``scales``). The normal block of MUXNet stages.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from timm.layers import make_divisible

from ..layers.activations import activation_names
from ..layers.channel_multiplexing import processed_channels
from ..layers.mixconv import PARTITIONS, split_channels
from ..layers.spatial_multiplexing import SCALES, spatial_partition

BLOCK_TYPES = ("ds", "ir", "mux")
SPEC_VERSION = 1


class SpecError(ValueError):
    """An architecture spec is invalid; the message names the offending block and field."""


def _kernel_tuple(value: Any, where: str) -> tuple[int, ...]:
    kernels = (value,) if isinstance(value, int) else tuple(value) if isinstance(value, Sequence) else None
    if not kernels or not all(isinstance(k, int) and not isinstance(k, bool) for k in kernels):
        raise SpecError(f"{where}: expected an odd int or a list of odd ints, got {value!r}")
    if any(k < 1 or k % 2 == 0 for k in kernels):
        raise SpecError(f"{where}: kernel sizes must be odd and positive, got {value!r}")
    return kernels


@dataclass(frozen=True)
class BlockSpec:
    """One block (repeated ``repeat`` times; only the first repeat has ``stride`` and changes the width).

    Attributes, in the papers' notation:
        kernel_size: ``K``: an int, or a list for mixed kernels (MixConv), e.g. ``[3, 5, 7]``.
        expand_ratio: ``E``: width of the inverted bottleneck relative to the (processed) input.
        group_factor: ``G``: input channels per group of the kxk conv (1 = depthwise); ``mux`` blocks only.
        leave_out: ``L``: ratio of channels passed through unprocessed; ``mux`` blocks only.
        scales: ``S``: spatial multiplexing, one entry per equal channel part (-1 subpixel, 0 as is,
            1 superpixel); empty means none; ``mux`` blocks only.
        se_ratio: squeeze-excite width as a fraction of the block's (processed) input channels; 0 disables.
        expand_groups / project_groups: MixNet's grouped pointwise convs (its ``a1.1``/``p1.1`` options).
        partition: how mixed-kernel channel groups are sized, ``"equal"`` or ``"exponential"``.
        dilated: MixNet's dilated variant of mixed kernels (k > 3 becomes a dilated 3x3).
        skip: add the identity shortcut when the shapes allow it.
        pw_activation: apply the activation after the last 1x1 conv of a ``ds`` block (MobileNetV1 style).
    """

    type: str
    out_channels: int
    kernel_size: int | tuple[int, ...] = 3
    stride: int = 1
    expand_ratio: float = 1.0
    repeat: int = 1
    group_factor: int = 1
    leave_out: float = 0.0
    scales: tuple[int, ...] = ()
    se_ratio: float = 0.0
    activation: str = "swish"
    expand_groups: int = 1
    project_groups: int = 1
    partition: str = "equal"
    dilated: bool = False
    skip: bool = True
    pw_activation: bool = False

    def __post_init__(self) -> None:
        # Normalise JSON/YAML lists into tuples so that specs stay hashable and compare by value.
        kernels = _kernel_tuple(self.kernel_size, "kernel_size")
        object.__setattr__(self, "kernel_size", kernels[0] if len(kernels) == 1 else kernels)
        if isinstance(self.scales, (list, tuple)):
            object.__setattr__(self, "scales", tuple(self.scales))
        self._check_fields()

    @property
    def kernel_sizes(self) -> tuple[int, ...]:
        return self.kernel_size if isinstance(self.kernel_size, tuple) else (self.kernel_size,)

    def _check_fields(self) -> None:
        def fail(name: str, why: str) -> None:
            raise SpecError(f"{name}: {why} (got {getattr(self, name)!r})")

        if self.type not in BLOCK_TYPES:
            fail("type", f"must be one of {BLOCK_TYPES}")
        for name in ("out_channels", "repeat", "group_factor", "expand_groups", "project_groups"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                fail(name, "must be a positive integer")
        if self.stride not in (1, 2):
            fail("stride", "must be 1 or 2")
        if not isinstance(self.expand_ratio, (int, float)) or self.expand_ratio <= 0:
            fail("expand_ratio", "must be a positive number")
        if not isinstance(self.leave_out, (int, float)) or not 0.0 <= self.leave_out < 1.0:
            fail("leave_out", "must be in [0, 1)")
        if not all(isinstance(s, int) and s in SCALES for s in self.scales):
            fail("scales", "must be a list of -1 (subpixel), 0 (as is) or 1 (superpixel)")
        if not isinstance(self.se_ratio, (int, float)) or not 0.0 <= self.se_ratio <= 4.0:
            fail("se_ratio", "must be in [0, 4]")
        if self.activation not in activation_names():
            fail("activation", f"must be one of {activation_names()}")
        if self.partition not in PARTITIONS:
            fail("partition", f"must be one of {PARTITIONS}")
        if self.type != "mux":
            for name, default in (("group_factor", 1), ("leave_out", 0.0), ("scales", ())):
                if getattr(self, name) != default:
                    fail(name, f"only applies to 'mux' blocks, not {self.type!r}")
        if self.type == "ds" and self.expand_ratio != 1:
            fail("expand_ratio", "a 'ds' block has no expansion; use 1")
        if self.type == "mux" and self.stride != 1:
            fail("stride", "'mux' (normal) blocks keep the resolution; use an 'ir' block to reduce")
        if self.type == "mux" and self.scales and len(self.kernel_sizes) > 1:
            fail("kernel_size", "spatial multiplexing takes a single kernel size")

    def to_dict(self) -> dict[str, Any]:
        """Only the fields that differ from their defaults, as JSON-ready values."""
        out: dict[str, Any] = {"type": self.type, "out_channels": self.out_channels}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in out or value == f.default:
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BlockSpec:
        if not isinstance(data, dict):
            raise SpecError(f"a block must be a mapping, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(f"unknown field(s) {unknown}; known fields are {sorted(known)}")
        missing = [name for name in ("type", "out_channels") if name not in data]
        if missing:
            raise SpecError(f"missing required field(s) {missing}")
        return cls(**data)


@dataclass(frozen=True)
class ResolvedBlock:
    """A block after repeats are expanded: everything the builder and the profiler need, with in-channels."""

    stage: int
    index: int
    in_channels: int
    spec: BlockSpec
    stride: int
    drop_path_rate: float

    @property
    def path(self) -> str:
        return f"stages[{self.stage}][{self.index}]"


@dataclass(frozen=True)
class NetworkSpec:
    """A whole network: conv stem (3x3, ``stem_stride``), stages of blocks, 1x1 conv head, pool, classifier.

    ``stages`` is a list of stages, each a list of :class:`BlockSpec`; ``feature_info`` taps features (for
    detection/segmentation necks) at the last block of each output stride. ``drop_path_rate`` is the stochastic
    depth of the last block, scaled linearly from 0 over the blocks (as in timm and the MUXNet release).
    """

    name: str
    stem_channels: int
    stages: tuple[tuple[BlockSpec, ...], ...]
    head_channels: int
    num_classes: int = 1000
    in_channels: int = 3
    stem_stride: int = 2
    stem_activation: str = "swish"
    head_activation: str = "swish"
    drop_rate: float = 0.2
    drop_path_rate: float = 0.0
    input_size: tuple[int, int, int] = (3, 224, 224)
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        stages = []
        for s, stage in enumerate(self.stages):
            if isinstance(stage, (dict, BlockSpec)) or not isinstance(stage, Sequence) or not stage:
                raise SpecError(f"stages[{s}]: each stage must be a non-empty list of blocks")
            blocks = []
            for b, block in enumerate(stage):
                try:
                    blocks.append(block if isinstance(block, BlockSpec) else BlockSpec.from_dict(block))
                except SpecError as err:
                    # field errors read "name: why"; prefix them with the block's position
                    sep = "." if re.match(r"^\w+: ", str(err)) else ": "
                    raise SpecError(f"stages[{s}][{b}]{sep}{err}") from None
                except TypeError as err:
                    raise SpecError(f"stages[{s}][{b}]: {err}") from None
            stages.append(tuple(blocks))
        object.__setattr__(self, "stages", tuple(stages))
        object.__setattr__(self, "input_size", tuple(self.input_size))
        self._check_fields()
        self._check_widths()

    def _check_fields(self) -> None:
        if not self.stages:
            raise SpecError("stages: a network needs at least one stage")
        for name in ("stem_channels", "head_channels", "num_classes", "in_channels"):
            value = getattr(self, name)
            minimum = 0 if name in ("num_classes", "head_channels") else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise SpecError(f"{name}: must be an integer >= {minimum} (got {value!r})")
        if self.stem_stride not in (1, 2):
            raise SpecError(f"stem_stride: must be 1 or 2 (got {self.stem_stride!r})")
        for name in ("stem_activation", "head_activation"):
            if getattr(self, name) not in activation_names():
                raise SpecError(f"{name}: must be one of {activation_names()} (got {getattr(self, name)!r})")
        for name in ("drop_rate", "drop_path_rate"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise SpecError(f"{name}: must be in [0, 1) (got {value!r})")
        if len(self.input_size) != 3 or self.input_size[0] != self.in_channels:
            raise SpecError(f"input_size: must be (in_channels, H, W) (got {self.input_size!r})")

    def _check_widths(self) -> None:
        """Checks that need the block's input width: groups, splits and multiplexed parts must divide."""
        for block in self.blocks():
            spec = block.spec

            def fail(name: str, why: str, block: ResolvedBlock = block) -> None:
                raise SpecError(f"{block.path}.{name}: {why} (got {getattr(block.spec, name)!r})")

            width = block.in_channels
            if spec.type == "mux":
                if spec.out_channels != block.in_channels:
                    fail("out_channels", f"a 'mux' block keeps its width ({block.in_channels} channels in)")
                width = block_processed_channels(block)
                if width < 1:
                    fail("leave_out", f"leaves no channel to process out of {block.in_channels}")
                if spec.leave_out and (block.in_channels % 2):
                    fail("leave_out", f"the channel shuffle needs an even width, not {block.in_channels}")
            mid = block_mid_channels(block)
            if spec.type == "ds" and spec.kernel_sizes and len(spec.kernel_sizes) > 1:
                _check_split(mid, len(spec.kernel_sizes), spec.partition, fail, "kernel_size")
            if spec.type in ("ir", "mux"):
                if spec.expand_groups > 1:
                    _check_split(width, spec.expand_groups, "equal", fail, "expand_groups")
                    _check_split(mid, spec.expand_groups, "equal", fail, "expand_groups")
                if spec.project_groups > 1:
                    _check_split(mid, spec.project_groups, "equal", fail, "project_groups")
                    _check_split(spec.out_channels, spec.project_groups, "equal", fail, "project_groups")
                if len(spec.kernel_sizes) > 1:
                    _check_split(mid, len(spec.kernel_sizes), spec.partition, fail, "kernel_size")
            if spec.type == "mux":
                if mid % spec.group_factor:
                    fail("group_factor", f"must divide the {mid} expanded channels")
                if spec.scales:
                    try:
                        spatial_partition(mid, spec.scales, spec.group_factor)
                    except ValueError as err:
                        fail("scales", str(err))
            if spec.se_ratio and int(width * spec.se_ratio) < 1:
                fail("se_ratio", f"gives no squeeze channel for {width} input channels")

    # -- derived structure ---------------------------------------------------------------------------------
    def blocks(self) -> Iterator[ResolvedBlock]:
        """Every block in order with repeats expanded, its input width, stride and drop-path rate."""
        total = sum(spec.repeat for stage in self.stages for spec in stage)
        in_channels, flat = self.stem_channels, 0
        for s, stage in enumerate(self.stages):
            index = 0
            for spec in stage:
                for r in range(spec.repeat):
                    rate = self.drop_path_rate * flat / total
                    yield ResolvedBlock(s, index, in_channels, spec, spec.stride if r == 0 else 1, rate)
                    in_channels = spec.out_channels
                    index += 1
                    flat += 1

    @property
    def num_features(self) -> int:
        """Width of the pooled features fed to the classifier."""
        return self.head_channels or self.stages[-1][-1].out_channels

    def replace(self, **changes: Any) -> NetworkSpec:
        return dataclasses.replace(self, **changes)

    # -- serialisation -----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": SPEC_VERSION}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "stages":
                out["stages"] = [[block.to_dict() for block in stage] for stage in value]
            elif f.name == "input_size":
                out[f.name] = list(value)
            elif f.name == "metadata":
                if value:
                    out[f.name] = dict(value)
            else:
                out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkSpec:
        if not isinstance(data, dict):
            raise SpecError(f"a network spec must be a mapping, got {type(data).__name__}")
        data = dict(data)
        version = data.pop("version", SPEC_VERSION)
        if version != SPEC_VERSION:
            raise SpecError(f"version: this muxnet reads spec version {SPEC_VERSION}, got {version!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(f"unknown field(s) {unknown}; known fields are {sorted(known)}")
        missing = [f.name for f in dataclasses.fields(cls)
                   if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                   and f.name not in data]
        if missing:
            raise SpecError(f"missing required field(s) {missing}")
        if not isinstance(data["stages"], Sequence) or isinstance(data["stages"], str):
            raise SpecError("stages: must be a list of stages")
        return cls(**data)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> NetworkSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise SpecError(f"not valid JSON: {err}") from None
        return cls.from_dict(data)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)

    @classmethod
    def from_yaml(cls, text: str) -> NetworkSpec:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise SpecError(f"not valid YAML: {err}") from None
        return cls.from_dict(data)

    def save(self, path: str | Path) -> Path:
        """Write the spec as YAML (``.yaml``/``.yml``) or JSON (anything else)."""
        path = Path(path)
        text = self.to_yaml() if path.suffix in (".yaml", ".yml") else self.to_json()
        path.write_text(text)
        return path

    @classmethod
    def load(cls, path: str | Path) -> NetworkSpec:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no spec file at {path}")
        text = path.read_text()
        try:
            return cls.from_yaml(text) if path.suffix in (".yaml", ".yml") else cls.from_json(text)
        except SpecError as err:
            raise SpecError(f"{path}: {err}") from None


def _check_split(channels: int, groups: int, partition: str, fail, name: str) -> None:
    try:
        split_channels(channels, groups, partition)
    except ValueError as err:
        fail(name, str(err))


def block_processed_channels(block: ResolvedBlock) -> int:
    """Width entering the processing path: ``int((1 - L) C)`` for ``mux`` blocks, ``C`` otherwise."""
    if block.spec.type == "mux":
        return processed_channels(block.in_channels, block.spec.leave_out)
    return block.in_channels


def block_mid_channels(block: ResolvedBlock) -> int:
    """Expanded width ``E * C_p`` of the kxk conv (``C`` for a ``ds`` block)."""
    width = block_processed_channels(block)
    if block.spec.type == "ds":
        return width
    return int(round(width * block.spec.expand_ratio))


def scale_width(spec: NetworkSpec, multiplier: float, divisor: int = 8, scale_head: bool = False) -> NetworkSpec:
    """Width multiplier: every stem/block width times ``multiplier``, rounded by timm's ``make_divisible``.

    The head keeps its width unless ``scale_head`` (MixNet-L and EfficientNet keep it; MobileNetV2 scales it
    only above 1.0). ``mux`` blocks follow the width of their stage.
    """
    if multiplier == 1.0:
        return spec
    stages = tuple(
        tuple(dataclasses.replace(b, out_channels=make_divisible(b.out_channels * multiplier, divisor))
              for b in stage)
        for stage in spec.stages
    )
    head = spec.head_channels
    if scale_head and head:
        head = make_divisible(head * multiplier, divisor)
    return spec.replace(stem_channels=make_divisible(spec.stem_channels * multiplier, divisor), stages=stages,
                        head_channels=head)


__all__ = [
    "BLOCK_TYPES",
    "BlockSpec",
    "NetworkSpec",
    "ResolvedBlock",
    "SpecError",
    "block_mid_channels",
    "block_processed_channels",
    "scale_width",
]
