"""Class folders: both layouts read the same way by every command, and a clear error for anything else."""

import shutil

import pytest
import torch

from muxnet.data import BadImageError, DataError, build_data, detect_dataset, folder_layout, load_tensors
from muxnet.train.recipes import load_recipe

from .makers import _png, make_flat_folder, make_image_folder

CFG = {"input_size": (3, 16, 16), "interpolation": "bicubic", "crop_pct": 0.875, "crop_mode": "center",
       "mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)}


def data_cfg(root, **changes):
    data = load_recipe("digits", [("data.dataset", "imagefolder"), ("data.root", str(root)),
                                  ("data.image_size", 16)])["data"]
    data.update(changes)
    return data


def test_flat_folder_is_split_by_a_seeded_fraction(tmp_path):
    root = make_flat_folder(tmp_path / "flat", per_class=10)
    assert folder_layout(root) == "flat" and detect_dataset(root) == "imagefolder"
    splits = build_data(data_cfg(root), CFG)
    assert splits.class_names == ["cat", "dog"] and splits.num_classes == 2
    assert len(splits.train) == 16 and len(splits.val) == 4 and splits.test is splits.val  # default 0.2
    held = {p for p, _ in splits.val.samples}
    assert held.isdisjoint(p for p, _ in splits.train.samples)
    again = build_data(data_cfg(root), CFG)
    assert {p for p, _ in again.val.samples} == held  # fixed by data.seed
    other = build_data(data_cfg(root, seed=1, val_fraction=0.5), CFG)
    assert len(other.val) == 10 and {p for p, _ in other.val.samples} != held
    with pytest.raises(DataError, match="val_fraction"):
        build_data(data_cfg(root, val_fraction=0.0), CFG)


def test_split_layout_with_test_but_no_val_holds_out_train(tmp_path):
    root = make_image_folder(tmp_path / "f", corrupt=False)
    (root / "val").rename(root / "test")
    splits = build_data(data_cfg(root), CFG)
    assert splits.val is None and len(splits.test) == 4 and len(splits.train) == 12
    held = build_data(data_cfg(root, val_fraction=0.25), CFG)
    assert len(held.val) == 3 and len(held.train) == 9 and len(held.test) == 4


@pytest.mark.parametrize("make, message", [
    (lambda root: _png(root / "a.png", 0), "not a class-folder tree: found images directly in it"),
    (lambda root: (root / "cat").mkdir(parents=True), "not a class-folder tree: found no images"),
    (lambda root: make_image_folder(root, corrupt=False) and shutil.rmtree(root / "val"),
     "has train/ but neither val/ nor test/"),
    (lambda root: make_image_folder(root, corrupt=False) and _png(root / "bird" / "0.png", 1),
     r"mixes the two class-folder layouts.*\['bird'\]"),
    (lambda root: _png(root / "cat" / "0.png", 1), r"found 1 class folder\(s\) \['cat'\]"),
])
def test_a_tree_that_is_neither_layout_is_refused(tmp_path, make, message):
    root = tmp_path / "tree"
    root.mkdir()
    make(root)
    with pytest.raises(DataError, match=message):
        build_data(data_cfg(root), CFG)
    if "1 class" not in message:  # one class folder is a layout, refused later for its class count
        with pytest.raises(DataError, match="cannot tell the layout"):
            detect_dataset(root)


@pytest.mark.parametrize("layout", ["split", "flat"])
def test_search_tensors_come_through_the_same_reader(tmp_path, layout):
    make = make_image_folder if layout == "split" else make_flat_folder
    root = make(tmp_path / layout, corrupt=False)
    data = load_tensors(root, 16, seed=0, data_config=CFG)
    assert data.num_classes == 2 and data.class_names == ["cat", "dog"] and data.name == str(root)
    images, labels = data.train.tensors
    assert images.shape[1:] == (3, 16, 16) and set(labels.tolist()) == {0, 1}
    n_train = 12 if layout == "split" else 13  # flat: 20% of 16 held out
    assert len(data.train) == n_train and len(data.val) == 16 - n_train
    # the same transform as muxnet train's ("none" for train): resize, then the model's mean/std
    reference = build_data(data_cfg(root, train_transform="none"), CFG).train
    first = reference[0][0]
    assert any(torch.equal(first, x) for x in images)
    subset = load_tensors(root, 16, seed=0, max_train_samples=5, data_config=CFG)
    assert len(subset.train) == 5


def test_search_tensors_bad_images_one_line_or_listed_once(tmp_path):
    root = make_flat_folder(tmp_path / "flat", corrupt=True)
    with pytest.raises(BadImageError, match=r"broken.png.*--skip-bad-images"):
        load_tensors(root, 16, seed=0, data_config=CFG)
    run = tmp_path / "run"
    run.mkdir()
    for _ in range(2):  # a resumed search reads the data again
        data = load_tensors(root, 16, seed=0, data_config=CFG, skip_bad_images=True, run_dir=run)
    assert len(data.train) + len(data.val) == 16
    lines = (run / "bad_images.txt").read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith(str(root / "cat" / "broken.png"))


def test_digits_tensors_are_the_embedded_default():
    data = load_tensors(None, 16, seed=0, max_train_samples=100)
    assert data.name == "digits" and len(data.train) == 100 and data.train.tensors[0].shape[1:] == (3, 16, 16)
    assert len(data.val) == 270
