import pickle

import pytest
import torch

from muxnet.data import (
    CHESTXRAY_LABELS,
    BadImageError,
    DataError,
    build_data,
    collate_skipping_bad,
    detect_dataset,
)
from muxnet.train.recipes import load_recipe

from .makers import make_chestxray, make_cifar, make_image_folder

CFG = {"input_size": (3, 16, 16), "interpolation": "bicubic", "crop_pct": 0.875, "crop_mode": "center",
       "mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)}


def data_cfg(dataset, root, **changes):
    data = load_recipe("digits", [("data.dataset", dataset), ("data.root", str(root)), ("data.image_size", 16)])["data"]
    data.update(changes)
    return data


def test_digits_default_needs_no_directory():
    splits = build_data(data_cfg("digits", None))
    x, y = splits.train[0]
    assert x.shape == (3, 16, 16) and splits.num_classes == 10 and not splits.multi_label
    assert len(splits.train) + len(splits.val) + len(splits.test) == 1797


def test_a_digits_pool_for_the_scenes_leaves_out_every_test_scene_digit():
    import numpy as np

    from muxnet.data.digits import digits_pixels, scene_digit_pool

    train, test = scene_digit_pool("train"), scene_digit_pool("test")
    assert not set(train) & set(test) and len(train) + len(test) == 1797
    _, _, splits = digits_pixels(16, pool="scenes_train")
    used = np.concatenate(list(splits.values()))
    assert sorted(used) == sorted(train)
    pooled = build_data(data_cfg("digits", None, digits_pool="scenes_train"))
    assert len(pooled.train) + len(pooled.val) + len(pooled.test) == len(train)
    with pytest.raises(ValueError, match="digits_pool"):
        load_recipe("digits", [("data.digits_pool", "test")])


def test_image_folder_layout_and_corrupt_file(tmp_path):
    root = make_image_folder(tmp_path / "f")
    splits = build_data(data_cfg("imagefolder", root, train_transform="inception"), CFG, tmp_path)
    assert splits.class_names == ["cat", "dog"] and splits.num_classes == 2
    assert len(splits.train) == 13 and len(splits.val) == 4 and splits.test is splits.val
    x, y = splits.val[0]
    assert x.shape == (3, 16, 16) and y == 0
    broken = next(i for i, (p, _) in enumerate(splits.train.samples) if p.name == "broken.png")
    with pytest.raises(BadImageError, match="broken.png"):
        splits.train[broken]


def test_skip_bad_images_drops_and_lists_them(tmp_path):
    root = make_image_folder(tmp_path / "f")
    splits = build_data(data_cfg("imagefolder", root, skip_bad_images=True), CFG, tmp_path)
    items = [splits.train[i] for i in range(len(splits.train))]
    assert sum(item is None for item in items) == 1
    images, labels = collate_skipping_bad(items)
    assert images.shape == (12, 3, 16, 16) and labels.shape == (12,)
    assert "broken.png" in (tmp_path / "bad_images.txt").read_text()
    assert collate_skipping_bad([None, None]) is None


def test_image_folder_errors_name_the_problem(tmp_path):
    root = make_image_folder(tmp_path / "b", corrupt=False)
    (root / "val" / "bird").mkdir()
    with pytest.raises(DataError, match="bird"):
        build_data(data_cfg("imagefolder", root), CFG)


@pytest.mark.parametrize("num_classes", [10, 100])
def test_cifar_pickles(tmp_path, num_classes):
    root = make_cifar(tmp_path / "c", num_classes)
    assert detect_dataset(root) == f"cifar{num_classes}"
    splits = build_data(data_cfg(f"cifar{num_classes}", root, train_transform="resize_flip", val_fraction=0.2),
                        CFG)
    assert splits.num_classes == num_classes and len(splits.test) == 6
    assert len(splits.train) + len(splits.val) == 30 and len(splits.val) == 6
    x, y = splits.train[0]
    assert x.shape == (3, 16, 16) and 0 <= y < num_classes
    assert splits.class_names[1] == ("c1" if num_classes == 10 else "f1")


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_cifar_unpickler_refuses_code(tmp_path):
    root = make_cifar(tmp_path / "c", 10)
    with open(root / "cifar-10-batches-py" / "test_batch", "wb") as fh:
        pickle.dump({b"data": Evil(), b"labels": [0]}, fh)
    with pytest.raises(DataError, match="test_batch.*refusing"):
        build_data(data_cfg("cifar10", root), CFG)


def test_chestxray_multilabel_and_patient_holdout(tmp_path):
    root = make_chestxray(tmp_path / "x")
    assert detect_dataset(root) == "chestxray"
    splits = build_data(data_cfg("chestxray", root, val_fraction=0.34), CFG)
    assert splits.multi_label and splits.num_classes == 14 and splits.class_names == list(CHESTXRAY_LABELS)
    assert len(splits.test) == 3 and len(splits.train) + len(splits.val) == 9
    x, y = splits.test[0]
    assert x.shape == (3, 16, 16) and y.shape == (14,)
    # image 4: findings 4 and 6 (Mass, Pneumonia); image 3: "No Finding"
    target = dict((p.name, t) for p, t in splits.train.samples + splits.val.samples)
    assert target["00000004_000.png"].nonzero().flatten().tolist() == [4, 6]
    assert target["00000003_000.png"].sum() == 0
    patients = [{p.name[:8] for p, _ in ds.samples} for ds in (splits.train, splits.val)]
    assert {int(n) // 3 for n in patients[0]}.isdisjoint({int(n) // 3 for n in patients[1]})


def test_chestxray_missing_and_corrupt_images(tmp_path):
    root = make_chestxray(tmp_path / "x", missing=True, corrupt=True)
    with pytest.raises(DataError, match="00000001_000.png"):
        build_data(data_cfg("chestxray", root), CFG)
    splits = build_data(data_cfg("chestxray", root, skip_bad_images=True), CFG, tmp_path)
    assert len(splits.train) == 8
    assert splits.train[1] is None  # 00000002 is corrupt: skipped, not fatal
    assert "00000001_000.png" in (tmp_path / "bad_images.txt").read_text()
    assert "00000002_000.png" in (tmp_path / "bad_images.txt").read_text()


def test_chestxray_unknown_finding(tmp_path):
    root = make_chestxray(tmp_path / "x")
    csv = root / "Data_Entry_2017.csv"
    csv.write_text(csv.read_text().replace("Cardiomegaly", "Cardiomegalyy", 1))
    with pytest.raises(DataError, match="line .*Cardiomegalyy"):
        build_data(data_cfg("chestxray", root), CFG)


def test_detect_dataset_rejects_unknown_layout(tmp_path):
    with pytest.raises(DataError, match="cannot tell"):
        detect_dataset(tmp_path)
    assert torch.is_tensor(build_data(data_cfg("digits", None)).val[0][0])
