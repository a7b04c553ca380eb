"""muxnet: MUXConv and MixConv layers, MUXNet and MixNet models, and the tri-objective architecture search."""

import sys as _sys

from . import profiling
from .models import (
    BlockSpec,
    CheckpointError,
    MuxNet,
    NetworkSpec,
    SpecError,
    build_model,
    create_model,
    get_spec,
    list_models,
    load_checkpoint,
    save_weights,
)
from .models import register_with_timm as _register_with_timm
from .profiling import Profile, profile, profile_spec

# ``muxnet.profile`` is the function; code written against the module path of earlier versions
# (``from muxnet.profile import count_spec``) finds the profiling package there.
_sys.modules[f"{__name__}.profile"] = profiling

__version__ = "0.1.0"

_register_with_timm()

__all__ = [
    "BlockSpec",
    "CheckpointError",
    "MuxNet",
    "NetworkSpec",
    "Profile",
    "SpecError",
    "build_model",
    "create_model",
    "get_spec",
    "list_models",
    "load_checkpoint",
    "profile",
    "profile_spec",
    "save_weights",
]
