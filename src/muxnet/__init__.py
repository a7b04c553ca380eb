"""muxnet: MUXConv and MixConv layers, MUXNet and MixNet models, and the tri-objective architecture search."""

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
