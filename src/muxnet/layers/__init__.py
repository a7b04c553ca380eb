"""The operators of the MUXConv and MixConv papers, one module each."""

from .activations import activation_names, create_activation
from .channel_multiplexing import ChannelShuffle, channel_shuffle, processed_channels
from .mixconv import MixConv, same_padding, split_channels
from .spatial_multiplexing import SpatialMultiplexConv, spatial_partition, subpixel, superpixel
from .squeeze_excite import SqueezeExcite

__all__ = [
    "ChannelShuffle",
    "MixConv",
    "SpatialMultiplexConv",
    "SqueezeExcite",
    "activation_names",
    "channel_shuffle",
    "create_activation",
    "processed_channels",
    "same_padding",
    "spatial_partition",
    "split_channels",
    "subpixel",
    "superpixel",
]
