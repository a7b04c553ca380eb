"""A tiny 16x16 MUXNet spec file and random weights for it, built in well under a second."""

from __future__ import annotations

import pytest
import torch

from muxnet.models import create_model, save_weights
from muxnet.models.spec import BlockSpec, NetworkSpec

TINY_SPEC = NetworkSpec(
    "tiny_mux", stem_channels=8, stem_stride=1, head_channels=32, input_size=(3, 16, 16), drop_rate=0.0,
    stages=(
        (BlockSpec("ds", 8, se_ratio=0.25, activation="relu"),),
        (BlockSpec("ir", 16, kernel_size=(3, 5), stride=2, expand_ratio=2),
         BlockSpec("mux", 16, expand_ratio=2, group_factor=2, leave_out=0.5, se_ratio=0.25)),
    ),
)


@pytest.fixture
def tiny_checkpoint(tmp_path):
    """``make(num_classes)`` -> (spec file, weights file) of a randomly initialised tiny model."""
    def make(num_classes: int = 2):
        spec = TINY_SPEC.save(tmp_path / "tiny.yaml")
        torch.manual_seed(0)
        weights = save_weights(create_model(spec, num_classes=num_classes), tmp_path / f"tiny{num_classes}.safetensors")
        return spec, weights
    return make
