"""The paper's Table-1 style comparison: name, params, MAdds and their ratios to a reference model, for zoo
models, spec files, timm models and the ablation families."""

from __future__ import annotations

from collections.abc import Sequence

import timm

from ..models.ablations import FAMILIES, family_members
from ..models.factory import SPEC_SUFFIXES, create_model
from ..models.zoo import list_models
from .counting import Profile, profile

TIMM_BASELINES = ("mobilenetv3_small_100", "mobilenetv2_100", "mobilenetv3_large_100", "efficientnet_b0")


def profile_named(name: str, input_size: Sequence[int] = (3, 224, 224), num_classes: int = 1000) -> Profile:
    """Profile a muxnet zoo model, a spec file, or any timm model name (built without weights)."""
    if name in list_models() or name.endswith(SPEC_SUFFIXES):
        model = create_model(name, num_classes=num_classes)
    elif timm.is_model(name):
        model = timm.create_model(name, num_classes=num_classes)
    else:
        raise ValueError(f"unknown model {name!r}: not in the muxnet zoo ({', '.join(list_models())}), "
                         f"not a spec file and not a timm model")
    return profile(model, input_size)


def profile_table(names: Sequence[str] = (), input_size: Sequence[int] = (3, 224, 224), num_classes: int = 1000,
                  layers: bool = False) -> str:
    """Rows of name / params / MAdds / ratios; ratios are relative to the first model listed."""
    ablations = {member for members in FAMILIES.values() for member in members}
    default = [name for name in list_models() if name not in ablations]  # families: see family_table
    profiles = [(name, profile_named(name, input_size, num_classes))
                for name in (names or [*default, *TIMM_BASELINES])]
    if not names:  # the default table reads like the paper's: smallest first
        profiles.sort(key=lambda item: item[1].madds)
    names = [name for name, _ in profiles]
    ref = profiles[0][1]
    width = max(len(n) for n in names + ["model"])
    lines = [f"{'model':<{width}}  {'#Params':>9}  {'ratio':>6}  {'#MAdds':>9}  {'ratio':>6}",
             "-" * (width + 38)]
    for name, p in profiles:
        lines.append(f"{name:<{width}}  {p.params / 1e6:>8.3f}M  {p.params / ref.params:>5.2f}x  "
                     f"{p.madds / 1e6:>8.1f}M  {p.madds / max(ref.madds, 1):>5.2f}x")
    lines.append(f"(input {tuple(input_size)}, {num_classes} classes; MAdds = conv + linear multiply-adds; "
                 f"ratios relative to {names[0]})")
    if layers:
        for name, p in profiles:
            lines += ["", f"== {name}", p.table()]
    return "\n".join(lines)


def family_table(family: str, input_size: Sequence[int] = (3, 224, 224), num_classes: int = 1000) -> str:
    """One ablation family (``muxnet.models.ablations.FAMILIES``) in figure order; ``"list"`` names them all."""
    if family == "list":
        return "\n".join(f"{name}  ({len(members)} models)" for name, members in sorted(FAMILIES.items()))
    return profile_table(family_members(family), input_size=input_size, num_classes=num_classes)


__all__ = ["TIMM_BASELINES", "family_table", "profile_named", "profile_table"]
