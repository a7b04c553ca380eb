"""A tiny MUXNet spec that trains in a second, and a class-folder tree to train it on."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.makers import make_image_folder
from muxnet.models.spec import BlockSpec, NetworkSpec

TINY_SPEC = NetworkSpec(
    "tiny_mux", stem_channels=8, stem_stride=1, head_channels=32, input_size=(3, 16, 16), drop_rate=0.0,
    stages=(
        (BlockSpec("ds", 8, se_ratio=0.25, activation="relu"),),
        (BlockSpec("ir", 16, kernel_size=(3, 5), stride=2, expand_ratio=2),
         BlockSpec("mux", 16, expand_ratio=2, group_factor=2, leave_out=0.5, se_ratio=0.25)),
    ),
)


@pytest.fixture(scope="session")
def tiny_spec_file(tmp_path_factory) -> Path:
    return TINY_SPEC.save(tmp_path_factory.mktemp("spec") / "tiny_mux.yaml")


@pytest.fixture
def image_folder(tmp_path) -> Path:
    return make_image_folder(tmp_path / "folder")
