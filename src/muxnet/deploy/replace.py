"""Module replacement shared by the rewrites."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn


def replace_modules(model: nn.Module, match: Callable[[nn.Module], bool],
                    rewrite: Callable[[nn.Module], nn.Module]) -> nn.Module:
    """Replace every submodule for which ``match`` holds by ``rewrite(submodule)``, in place; returns the root,
    which is itself rewritten when it matches (e.g. a bare layer)."""
    if match(model):
        return rewrite(model)
    for name, module in list(model.named_modules()):
        if name and match(module):
            parent_name, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent_name) if parent_name else model, child, rewrite(module))
    return model
