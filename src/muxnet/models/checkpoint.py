"""Loading weights safely: our own files, timm's MixNet/EfficientNet files and the released MUXNet layout.

Nothing here unpickles arbitrary objects: ``.safetensors`` files are read with safetensors and everything
else with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

WRAPPER_KEYS = ("state_dict_ema", "model_ema", "state_dict", "model")
_BLOCK_KEY = re.compile(r"^blocks\.(\d+)\.(\d+)\.(.*)$")
CLASSIFIER_PREFIX = "classifier."


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read, or does not fit the model; the message lists what is wrong."""


def read_state_dict(path: str | Path, prefer_ema: bool = True) -> dict[str, torch.Tensor]:
    """Read a tensor mapping from ``path``, unwrapping ``state_dict``/``state_dict_ema``/``model`` wrappers
    and a ``module.`` (DataParallel/DDP) prefix."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            data = load_file(str(path))
        else:
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt, truncated or not a weights file
        raise CheckpointError(f"cannot read checkpoint {path}: {type(err).__name__}: {err}") from err
    if isinstance(data, Mapping):
        keys = WRAPPER_KEYS if prefer_ema else tuple(k for k in WRAPPER_KEYS if "ema" not in k) + WRAPPER_KEYS
        for key in keys:
            if isinstance(data.get(key), Mapping):
                data = data[key]
                break
    if not isinstance(data, Mapping) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f"{path} does not hold a state_dict (a mapping of names to tensors)")
    if data and all(k.startswith("module.") for k in data):
        data = {k[len("module."):]: v for k, v in data.items()}
    return dict(data)


def _block_ids(keys) -> list[tuple[int, int]]:
    found = {(int(m[1]), int(m[2])) for m in map(_BLOCK_KEY.match, keys) if m}
    return sorted(found)


def remap_block_layout(state_dict: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Renumber ``blocks.i.j.*`` keys onto the model's stage layout when the two differ but hold the same
    blocks in the same order. The released MUXNets keep each block in its own stage (``blocks.<k>.0``),
    while our specs group blocks by resolution stage (``blocks.<stage>.<index>``)."""
    model_ids = _block_ids(model.state_dict().keys())
    ckpt_ids = _block_ids(state_dict.keys())
    if ckpt_ids == model_ids or len(ckpt_ids) != len(model_ids):
        return dict(state_dict)
    mapping = dict(zip(ckpt_ids, model_ids))
    out = {}
    for key, value in state_dict.items():
        m = _BLOCK_KEY.match(key)
        if m:
            s, i = mapping[(int(m[1]), int(m[2]))]
            key = f"blocks.{s}.{i}.{m[3]}"
        out[key] = value
    return out


def load_checkpoint(
    model: nn.Module,
    path: str | Path,
    strict: bool = True,
    reset_classifier: bool | None = False,
    prefer_ema: bool = True,
) -> nn.Module:
    """Load weights from ``path`` into ``model`` and return it.

    Accepts our own checkpoints, plain state_dicts, the usual wrappers (``state_dict``, ``state_dict_ema``,
    ``model``), safetensors files, timm's MixNet files and the released MUXNet layout.

    Args:
        strict: raise :class:`CheckpointError` listing every missing, unexpected or mis-shaped key.
        reset_classifier: ``True`` keeps the model's own classifier (fine-tuning on new classes); ``None``
            keeps it only when its shape differs from the checkpoint's; ``False`` loads it like any layer.
        prefer_ema: take the EMA weights when a training checkpoint carries both.
    """
    state_dict = remap_block_layout(read_state_dict(path, prefer_ema), model)
    own = model.state_dict()
    if reset_classifier is None:
        reset_classifier = any(
            k.startswith(CLASSIFIER_PREFIX) and k in own and own[k].shape != v.shape for k, v in state_dict.items()
        )
    if reset_classifier:
        state_dict = {k: v for k, v in state_dict.items() if not k.startswith(CLASSIFIER_PREFIX)}
        state_dict.update({k: v for k, v in own.items() if k.startswith(CLASSIFIER_PREFIX)})
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    shapes = [f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state_dict and state_dict[k].shape != own[k].shape]
    if strict and (missing or unexpected or shapes):
        lines = [f"checkpoint {path} does not fit {type(model).__name__}:"]
        for title, items in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", shapes)):
            if items:
                shown = ", ".join(items[:8]) + (f", ... ({len(items)} in all)" if len(items) > 8 else "")
                lines.append(f"  {title}: {shown}")
        raise CheckpointError("\n".join(lines))
    loadable = {k: v for k, v in state_dict.items() if k in own and v.shape == own[k].shape}
    model.load_state_dict(loadable, strict=False)
    return model


def save_weights(model: nn.Module, path: str | Path) -> Path:
    """Write ``model``'s state_dict as safetensors (``.safetensors``) or a weights-only torch file."""
    path = Path(path)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path
