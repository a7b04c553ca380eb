"""A tiny MUXNet spec that trains in a second, and a class-folder tree to train it on."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.makers import TINY_SPEC, make_image_folder


@pytest.fixture(scope="session")
def tiny_spec_file(tmp_path_factory) -> Path:
    return TINY_SPEC.save(tmp_path_factory.mktemp("spec") / "tiny_mux.yaml")


@pytest.fixture
def image_folder(tmp_path) -> Path:
    return make_image_folder(tmp_path / "folder")
