"""Channel multiplexing's concat and shuffle as one interleaving copy, or as a concat whose shuffle is carried
by the next 1x1 conv's weights.

With ``C_p = C_l = n`` (leave-out 0.5, every released MUXNet), the two-group shuffle of ``[y_p, x_l]`` puts
``y_p[j]`` at channel ``2j`` and ``x_l[j]`` at ``2j + 1``: ``stack([y_p, x_l], dim=2).flatten(1, 2)``, one copy
instead of a concat followed by a transposing copy. Blocks with unequal parts keep their own forward.
"""

from __future__ import annotations

import torch
from torch import nn

from ..models.blocks import InvertedResidual, MuxConvBlock
from .replace import replace_modules


class InterleavedMuxConvBlock(nn.Module):
    """A :class:`MuxConvBlock` with ``C_p == C_l``, its output written as one interleaving stack."""

    def __init__(self, block: MuxConvBlock):
        super().__init__()
        if block.processed != block.left_out:
            raise ValueError(f"interleaving needs equal processed/left-out widths, got "
                             f"{block.processed}/{block.left_out}")
        self.block = block
        self.processed = block.processed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        processed, left_out = x.split(self.processed, dim=1)
        y = InvertedResidual.forward(self.block, processed)
        return torch.stack([y, left_out], dim=2).flatten(1, 2)


def interleave_channel_multiplexing(model: nn.Module) -> nn.Module:
    """Replace (in place) every :class:`MuxConvBlock` with equal parts by :class:`InterleavedMuxConvBlock`."""
    unshuffled = {id(m.block) for m in model.modules() if isinstance(m, UnshuffledMuxConvBlock)}

    def match(m: nn.Module) -> bool:
        return (isinstance(m, MuxConvBlock) and m.left_out > 0 and m.processed == m.left_out
                and id(m) not in unshuffled)

    return replace_modules(model, match, InterleavedMuxConvBlock)


class UnshuffledMuxConvBlock(nn.Module):
    """A :class:`MuxConvBlock` that returns ``cat([y_p, x_l])`` without the shuffle; the consumer's weights carry
    the shuffle's permutation instead (:func:`fold_channel_shuffle`)."""

    def __init__(self, block: MuxConvBlock):
        super().__init__()
        self.block = block
        self.processed, self.left_out = block.processed, block.left_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        processed, left_out = x.split([self.processed, self.left_out], dim=1)
        return torch.cat([InvertedResidual.forward(self.block, processed), left_out], dim=1)


def shuffle_permutation(block: MuxConvBlock) -> torch.Tensor:
    """``perm`` with ``shuffle(z)[:, k] == z[:, perm[k]]`` for the block's output shuffle."""
    channels = block.processed + block.left_out
    with torch.no_grad():
        return block.shuffle(torch.arange(channels, dtype=torch.float64).view(1, channels, 1, 1)).flatten().long()


def _pointwise_consumer(module: nn.Module) -> nn.Conv2d | None:
    """The 1x1 conv that reads all of ``module``'s input first, when nothing else reads it (no shortcut)."""
    if isinstance(module, nn.Conv2d):
        conv = module
    elif (isinstance(module, InvertedResidual) and not isinstance(module, MuxConvBlock) and not module.has_skip):
        conv = module.conv_pw
    elif isinstance(module, MuxConvBlock) and module.left_out == 0 and not module.has_skip:
        conv = module.conv_pw
    else:
        return None
    if isinstance(conv, nn.Conv2d) and conv.kernel_size == (1, 1) and conv.groups == 1:
        return conv
    return None


def _mux_block(module: nn.Module) -> MuxConvBlock | None:
    block = module.block if isinstance(module, InterleavedMuxConvBlock) else module
    return block if isinstance(block, MuxConvBlock) and block.left_out > 0 else None


@torch.no_grad()
def fold_channel_shuffle(model: nn.Module) -> nn.Module:
    """Drop the output shuffle of every channel-multiplexing block whose output is read only by a 1x1 conv
    (the next stage's expanding conv or the head), permuting that conv's input channels instead (in place).

    Follows the MuxNet's execution order (its blocks, then ``conv_head``); a block followed by another
    channel-multiplexing block or by a shortcut keeps its shuffle (the next block splits and adds the
    shuffled map itself).
    """
    from ..models.network import MuxNet

    if not isinstance(model, MuxNet):
        return model
    chain = [(stage, name) for stage in model.blocks for name in stage._modules]
    consumers = [stage._modules[name] for stage, name in chain[1:]] + [model.conv_head]
    for (stage, name), consumer in zip(chain, consumers):
        block, conv = _mux_block(stage._modules[name]), _pointwise_consumer(consumer)
        if block is None or conv is None:
            continue
        perm = shuffle_permutation(block)
        weight = torch.empty_like(conv.weight)
        weight[:, perm] = conv.weight  # conv(shuffle(z)) reads z[perm[k]] with the weight of channel k
        conv.weight.data.copy_(weight)
        setattr(stage, name, UnshuffledMuxConvBlock(block))
    return model
