"""The registry behind ``create_model`` (named specs and their data configs), and the MixNets.

Each entry is a function returning a :class:`NetworkSpec` plus the data config the model expects. Specs are
written out block by block in the spec vocabulary (no block-string parsing), so each can be read against the
paper's figure or the release it reproduces.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .spec import BlockSpec, NetworkSpec, scale_width


@dataclass(frozen=True)
class ZooEntry:
    name: str
    build_spec: Callable[[], NetworkSpec]
    description: str
    pretrained_cfg: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, ZooEntry] = {}


SpecFunction = Callable[[], NetworkSpec]


def register(name: str, description: str, **cfg: Any) -> Callable[[SpecFunction], SpecFunction]:
    """Decorator adding a spec function to the zoo under ``name``."""

    def wrap(fn: SpecFunction) -> SpecFunction:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        _REGISTRY[name] = ZooEntry(name, fn, description, cfg)
        return fn

    return wrap


def list_models(pattern: str = "*") -> list[str]:
    """Names in the zoo matching a shell-style ``pattern`` (e.g. ``"muxnet_*"``)."""
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, pattern))


def get_entry(name: str) -> ZooEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(list_models())}") from None


def get_spec(name: str) -> NetworkSpec:
    return get_entry(name).build_spec()


# -- MixNet (Tan & Le 2019), matching timm's mixnet_s/m/l block for block ------------------------------------------
def _mix(k, e, c, s=1, n=1, se=0.0, act="swish", a=1, p=1) -> BlockSpec:
    return BlockSpec("ir", c, kernel_size=k, stride=s, expand_ratio=e, repeat=n, se_ratio=se, activation=act,
                     expand_groups=a, project_groups=p)


def _mixnet(name: str, stem: int, stages: tuple[tuple[BlockSpec, ...], ...]) -> NetworkSpec:
    return NetworkSpec(name, stem_channels=stem, stages=stages, head_channels=1536, stem_activation="relu",
                       head_activation="relu")


@register("mixnet_s", "MixNet-S (4.1M params, 256M MAdds in the paper's count)")
def mixnet_s() -> NetworkSpec:
    return _mixnet("mixnet_s", 16, (
        (BlockSpec("ds", 16, activation="relu"),),
        (_mix(3, 6, 24, s=2, a=2, p=2, act="relu"), _mix(3, 3, 24, a=2, p=2, act="relu")),
        (_mix((3, 5, 7), 6, 40, s=2, se=0.5), _mix((3, 5), 6, 40, n=3, se=0.5, a=2, p=2)),
        (_mix((3, 5, 7), 6, 80, s=2, se=0.25, p=2), _mix((3, 5), 6, 80, n=2, se=0.25, p=2)),
        (_mix((3, 5, 7), 6, 120, se=0.5, a=2, p=2), _mix((3, 5, 7, 9), 3, 120, n=2, se=0.5, a=2, p=2)),
        (_mix((3, 5, 7, 9, 11), 6, 200, s=2, se=0.5), _mix((3, 5, 7, 9), 6, 200, n=2, se=0.5, p=2)),
    ))


def _mixnet_m_stages() -> tuple[tuple[BlockSpec, ...], ...]:
    return (
        (BlockSpec("ds", 24, activation="relu"),),
        (_mix((3, 5, 7), 6, 32, s=2, a=2, p=2, act="relu"), _mix(3, 3, 32, a=2, p=2, act="relu")),
        (_mix((3, 5, 7, 9), 6, 40, s=2, se=0.5), _mix((3, 5), 6, 40, n=3, se=0.5, a=2, p=2)),
        (_mix((3, 5, 7), 6, 80, s=2, se=0.25), _mix((3, 5, 7, 9), 6, 80, n=3, se=0.25, a=2, p=2)),
        (_mix(3, 6, 120, se=0.5), _mix((3, 5, 7, 9), 3, 120, n=3, se=0.5, a=2, p=2)),
        (_mix((3, 5, 7, 9), 6, 200, s=2, se=0.5), _mix((3, 5, 7, 9), 6, 200, n=3, se=0.5, p=2)),
    )


@register("mixnet_m", "MixNet-M (5.0M params, 360M MAdds in the paper's count)")
def mixnet_m() -> NetworkSpec:
    return _mixnet("mixnet_m", 24, _mixnet_m_stages())


@register("mixnet_l", "MixNet-L: MixNet-M at width 1.3 (7.3M params, 565M MAdds in the paper's count)")
def mixnet_l() -> NetworkSpec:
    return scale_width(_mixnet("mixnet_l", 24, _mixnet_m_stages()), 1.3)
