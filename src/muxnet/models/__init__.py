"""Specs, blocks, the network class, the zoo and checkpoint loading."""

from . import ablations, zoo_muxnet, zoo_small  # noqa: F401  (register the MUXNets and ablation families)
from .blocks import DepthwiseSeparable, InvertedResidual, MuxConvBlock, create_block
from .checkpoint import CheckpointError, load_checkpoint, read_state_dict, save_weights
from .factory import create_model, register_with_timm, resolve_spec
from .network import MuxNet, build_model
from .skeleton import MuxNetSkeleton, StageChoice
from .spec import BlockSpec, NetworkSpec, ResolvedBlock, SpecError, scale_width
from .zoo import get_spec, list_models, register

__all__ = [
    "BlockSpec",
    "CheckpointError",
    "DepthwiseSeparable",
    "InvertedResidual",
    "MuxConvBlock",
    "MuxNet",
    "MuxNetSkeleton",
    "NetworkSpec",
    "ResolvedBlock",
    "SpecError",
    "StageChoice",
    "build_model",
    "create_block",
    "create_model",
    "get_spec",
    "list_models",
    "load_checkpoint",
    "read_state_dict",
    "register",
    "register_with_timm",
    "resolve_spec",
    "save_weights",
    "scale_width",
]
