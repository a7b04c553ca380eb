"""``create_model``: a zoo name, a spec file or a spec object in, a ready model out; plus timm registration."""

from __future__ import annotations

import dataclasses
import sys
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

from .checkpoint import load_checkpoint
from .network import MuxNet, build_model, default_pretrained_cfg, feature_taps
from .spec import NetworkSpec, SpecError
from .zoo import get_entry, list_models

# timm reads the data config of every name this module registers from here (``register_model`` looks for a
# ``default_cfgs`` in the entrypoint's module); filled by :func:`register_with_timm`
default_cfgs: dict[str, dict[str, Any]] = {}

SPEC_SUFFIXES = (".json", ".yaml", ".yml")


def resolve_spec(model: str | Path | NetworkSpec) -> tuple[NetworkSpec, dict[str, Any]]:
    """The spec and data config for a zoo name, a spec file path or a spec."""
    if isinstance(model, NetworkSpec):
        return model, {}
    path = Path(model)
    if path.suffix in SPEC_SUFFIXES:
        return NetworkSpec.load(path), {}
    entry = get_entry(str(model))
    return entry.build_spec(), dict(entry.pretrained_cfg)


def create_model(
    model: str | Path | NetworkSpec,
    num_classes: int | None = None,
    pretrained: str | Path | bool | None = None,
    global_pool: str = "avg",
    **overrides: Any,
) -> MuxNet:
    """Build a model by zoo name (``"muxnet_m"``), spec file (``"best.yaml"``) or :class:`NetworkSpec`.

    Args:
        num_classes: classifier width (0 removes the classifier and returns pooled features); by default the
            spec's own (1000 for the zoo, the searched dataset's for a spec file written by the search).
        pretrained: path to a checkpoint (ours, timm's, or the released MUXNet layout; ``.pth``/``.pt``/
            ``.safetensors``). Weights are never downloaded: ``True`` is refused with an explanation. When
            ``num_classes`` differs from the checkpoint's, the classifier is left freshly initialised.
        global_pool: the head's pooling (timm's names); ``""`` with ``num_classes=0`` returns the unpooled map.
        overrides: any :class:`NetworkSpec` field, e.g. ``drop_rate=0.3``, ``drop_path_rate=0.2``,
            ``in_channels=1``.
    """
    spec, cfg = resolve_spec(model)
    fields = {f.name for f in dataclasses.fields(NetworkSpec)} - {"stages", "name"}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise TypeError(f"create_model got unknown option(s) {unknown}; spec fields are {sorted(fields)}")
    if "in_channels" in overrides and "input_size" not in overrides:
        overrides["input_size"] = (overrides["in_channels"], *spec.input_size[1:])
    try:
        if num_classes is not None:
            overrides["num_classes"] = num_classes
        spec = spec.replace(**overrides)
    except SpecError as err:
        raise SpecError(f"{spec.name}: {err}") from None
    model_ = build_model(spec, default_pretrained_cfg(spec, **cfg), global_pool)
    if pretrained is True:
        raise ValueError(
            "pretrained=True would download weights, which muxnet never does; pass the path of a local "
            "checkpoint instead, e.g. pretrained='muxnet_m.pth'"
        )
    if pretrained:
        load_checkpoint(model_, pretrained, reset_classifier=None)
    return model_


def _build_for_timm(name: str, checkpoint: str | None, in_chans: int | None = None, **kwargs: Any) -> MuxNet:
    """The model class timm's builder calls: timm's ``in_chans`` is our ``in_channels``."""
    if in_chans is not None:
        kwargs["in_channels"] = in_chans
    return create_model(name, pretrained=checkpoint, **kwargs)


def _timm_entrypoint(name: str):
    spec = get_entry(name).build_spec()
    taps = feature_taps(spec)
    blocks_per_stage = Counter(block.stage for block in spec.blocks())
    # FeatureListNet keeps the classifier's key layout (``blocks_3``) but can only tap whole stages; a zoo
    # model with a feature inside a stage (MobileNetV1's single stage) is wrapped around forward_intermediates
    stage_ends = all(i == blocks_per_stage[s] - 1 for s, i in taps)

    def entrypoint(pretrained: bool = False, **kwargs: Any) -> MuxNet:
        overlay = dict(kwargs.pop("pretrained_cfg_overlay", None) or {})
        checkpoint = overlay.get("file") if pretrained else None
        if pretrained and not checkpoint:
            raise ValueError(f"{name}: no weights are downloaded; pass pretrained_cfg_overlay=dict(file='path')")
        from timm.models import build_model_with_cfg

        # timm's builder resolves the registered data config, wraps features_only models (out_indices,
        # feature_cls) and puts the config on whatever it returns; the weights are ours to load
        feature_cfg = {"out_indices": tuple(range(len(taps))), "flatten_sequential": True,
                       "feature_cls": "list" if stage_ends else "getter"}
        return build_model_with_cfg(partial(_build_for_timm, name, checkpoint), name, pretrained=False,
                                    pretrained_cfg_overlay=overlay, feature_cfg=feature_cfg, **kwargs)

    entrypoint.__name__ = entrypoint.__qualname__ = name
    entrypoint.__doc__ = f"{get_entry(name).description} (muxnet)"
    entrypoint.__module__ = __name__
    return entrypoint


def register_with_timm() -> list[str]:
    """Make ``timm.create_model("muxnet_m")`` work. Only names that timm does not already own are
    registered (timm has its own MixNets, which ours reproduce and load from)."""
    from timm.models import is_model, register_model

    registered = []
    module = sys.modules[__name__]
    for name in list_models():
        if is_model(name):
            continue
        entry = get_entry(name)
        default_cfgs[name] = default_pretrained_cfg(entry.build_spec(), **entry.pretrained_cfg)
        fn = _timm_entrypoint(name)
        setattr(module, name, fn)
        register_model(fn)
        registered.append(name)
    return registered


__all__ = ["create_model", "register_with_timm", "resolve_spec"]
