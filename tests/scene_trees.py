"""Tiny dataset trees for the reader tests: written once per module by the scenes generator, copied per test
so that a test may break files."""

import shutil

import pytest


def tree_fixtures(write, folder_name: str, **sizes):
    @pytest.fixture(scope="module")
    def scenes(tmp_path_factory):
        return write(tmp_path_factory.mktemp("scenes"), **sizes)

    @pytest.fixture
    def tree(scenes, tmp_path):
        root = tmp_path / folder_name
        shutil.copytree(scenes, root)
        return root

    return scenes, tree
