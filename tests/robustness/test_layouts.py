"""ImageNet-V2's numeric class folders, the released ImageNet-C tree, and a small end-to-end run on it."""

import json

import numpy as np
import pytest
from PIL import Image

from muxnet.data.imagenet_c import scan_imagenet_c
from muxnet.data.imagenet_v2 import imagenet_v2_samples, is_imagenet_v2


def _png(path, seed, size=20):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path)


def _v2(root, with_images=(0, 1, 2, 10, 100, 999)):
    """The released layout: folders 0..999, images in a few of them."""
    for n in range(1000):
        (root / str(n)).mkdir(parents=True, exist_ok=True)
    for i, n in enumerate(with_images):
        _png(root / str(n) / f"img{i}.jpeg", i)
    return root


def test_imagenet_v2_folders_map_to_their_numbers_not_their_string_order(tmp_path):
    from torchvision.datasets import ImageFolder

    numbers = [0, 1, 2, 10, 100, 999]
    root = _v2(tmp_path, numbers)
    assert is_imagenet_v2(root)
    samples = imagenet_v2_samples(root)
    assert sorted((p.parent.name, idx) for p, idx in samples) == sorted((str(n), n) for n in numbers)
    # what an ImageFolder does: "10" sorts before "2" and every folder's index is its rank among the names
    folder = ImageFolder(str(root), allow_empty=True)
    assert folder.class_to_idx["10"] == 2 and folder.class_to_idx["2"] == 112


def test_imagenet_v2_is_not_guessed_from_a_few_numbered_folders(tmp_path):
    from muxnet.data import detect_dataset

    assert detect_dataset(_v2(tmp_path / "v2", (3,))) == "imagenetv2"
    for n in range(10):  # MNIST-like class folders 0..9 stay class folders
        _png(tmp_path / "small" / str(n) / "a.png", n)
    assert not is_imagenet_v2(tmp_path / "small") and detect_dataset(tmp_path / "small") == "imagefolder"


def test_imagenet_v2_rejects_folders_that_are_not_class_indices(tmp_path):
    _png(tmp_path / "0" / "a.jpeg", 0)
    _png(tmp_path / "1000" / "b.jpeg", 1)
    with pytest.raises(ValueError, match="outside the class range 0..999"):
        imagenet_v2_samples(tmp_path)
    (tmp_path / "1000" / "b.jpeg").unlink()
    (tmp_path / "1000").rmdir()
    _png(tmp_path / "n01440764" / "c.jpeg", 2)
    with pytest.raises(ValueError, match="is not a class index"):
        imagenet_v2_samples(tmp_path)


def _imagenet_c(root, present, classes=("n01", "n02"), per_class=2):
    for name, severity in present:
        for c in classes:
            for k in range(per_class):
                _png(root / name / str(severity) / c / f"{k}.JPEG", hash((name, severity, c, k)) % 1000)
    return root


def test_missing_corruptions_and_severities_are_listed(tmp_path):
    present = [("fog", s) for s in (1, 2, 3, 5)] + [("gaussian_noise", s) for s in range(1, 6)]
    tree = scan_imagenet_c(_imagenet_c(tmp_path, present), ("gaussian_noise", "fog", "snow"), (1, 2, 3, 4, 5))
    assert set(tree.found) == set(present)
    assert tree.missing == [("fog", 4)] + [("snow", s) for s in range(1, 6)]
    assert tree.classes == ["n01", "n02"]
    with pytest.raises(ValueError, match="none of the expected"):
        scan_imagenet_c(tmp_path / "fog" / "1", ("snow",), (1,))


@pytest.mark.slow
def test_released_layout_end_to_end_reports_what_is_missing(tmp_path, tiny_checkpoint):
    from muxnet.cli import main

    spec, weights = tiny_checkpoint(2)
    present = [("fog", s) for s in (1, 2, 3, 5)] + [("gaussian_noise", s) for s in range(1, 6)]
    root = _imagenet_c(tmp_path / "c", present)
    out = tmp_path / "run"
    args = ["robustness", "--model", str(spec), "--checkpoint", str(weights), "--imagenet-c", str(root),
            "--corruptions", "gaussian_noise,fog", "--output", str(out), "--batch-size", "4"]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["missing"] == ["fog/4"]
    per = summary["models"][str(spec)]["metrics"]["per_corruption"]
    assert per["fog"]["ce"] is None and per["gaussian_noise"]["ce"] is not None
    assert summary["models"][str(spec)]["errors"]["gaussian_noise"]["1"]["count"] == 4
    assert (out / "heatmap.png").stat().st_size > 0 and (out / "bars.png").stat().st_size > 0
    before = (out / "summary.json").read_bytes()
    assert main(args) == 2  # one error line, nothing overwritten
    assert (out / "summary.json").read_bytes() == before
    # a run killed before its pictures resumes from progress.jsonl without measuring anything again
    lines = (out / "progress.jsonl").read_text().splitlines()
    assert len(lines) == 1 + 9  # settings + 9 sets (no clean set without --data)
    for name in ("summary.json", "heatmap.png", "bars.png", "examples.png"):
        (out / name).unlink(missing_ok=True)
    (out / "progress.jsonl").write_text("\n".join(lines[:5]) + "\n{\"set\": \"fog/")  # killed mid-line
    assert main(args) == 0
    again = json.loads((out / "summary.json").read_text())
    assert again["models"] == summary["models"]
    resumed = [json.loads(line) for line in (out / "progress.jsonl").read_text().splitlines()]
    assert len(resumed) == 10 and len({r.get("set") for r in resumed[1:]}) == 9


def test_unknown_corruption_is_one_clear_line(tmp_path, tiny_checkpoint, capsys):
    from muxnet.cli import main

    spec, weights = tiny_checkpoint(2)
    assert main(["robustness", "--model", str(spec), "--checkpoint", str(weights), "--imagenet-c", str(tmp_path),
                 "--corruptions", "mist", "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown corruption 'mist'" in err[0]


def test_imagenet_v2_is_an_evaluation_set_and_the_drop_is_in_points(tmp_path):
    from muxnet.data import ReadOptions
    from muxnet.data.imagenet_v2 import imagenet_v2_splits
    from muxnet.robustness.generalisation import accuracy_drop

    for n in (3, 12):
        _png(tmp_path / str(n) / "a.jpeg", n)
    splits = imagenet_v2_splits(tmp_path, ReadOptions(16))
    assert splits.num_classes == 1000 and [t for _, t in splits.test.samples] == [3, 12]
    assert splits.test[1][1] == 12 and len(splits.train) == 0
    assert accuracy_drop({"top1": 60.0, "top5": 81.5}, {"top1": 71.0, "top5": 90.0}) == {"top1_drop": 11.0,
                                                                                          "top5_drop": 8.5}


@pytest.mark.slow
def test_muxnet_eval_reads_imagenet_v2_by_number(tmp_path, capsys):
    """A model that always answers class 10 is right exactly on folder ``10`` (a string sort would call it 2)."""
    import torch

    from data.makers import TINY_SPEC
    from muxnet.cli import main
    from muxnet.models import create_model, save_weights

    _v2(tmp_path / "v2", (0, 1, 10))
    spec = TINY_SPEC.save(tmp_path / "tiny.yaml")
    model = create_model(spec, num_classes=1000)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
        model.classifier.bias[10] = 100.0
    weights = save_weights(model, tmp_path / "w.safetensors")
    assert main(["eval", str(spec), "--checkpoint", str(weights), "--data", str(tmp_path / "v2"), "--image-size", "16",
                 "--workers", "0", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["dataset"] == "imagenetv2" and result["count"] == 3
    assert result["top1"] == pytest.approx(100 / 3)


def test_on_the_fly_sets_crop_like_the_model_then_corrupt_repeatably(tmp_path):
    pytest.importorskip("imagecorruptions")
    from muxnet.robustness.pixel_datasets import CorruptedImages, image_folder_pixels, normalize_transform

    _v2(tmp_path, ())
    for n in (2, 10):
        _png(tmp_path / str(n) / "a.jpeg", n, size=48)   # ImageNet-V2 layout: numbers are the classes
    cfg = {"input_size": (3, 32, 32), "crop_pct": 0.875, "interpolation": "bicubic"}
    pixels = image_folder_pixels(tmp_path, cfg)
    image, target = pixels[1]
    assert np.asarray(image).shape == (32, 32, 3) and target == 10
    norm = normalize_transform([0.5] * 3, [0.5] * 3)
    data = CorruptedImages(pixels, "shot_noise", 4, seed=3, transform=norm)
    assert data[1][0].shape == (3, 32, 32) and data[1][0].equal(data[1][0])
    assert not data[0][0].equal(CorruptedImages(pixels, None, transform=norm)[0][0])


def test_a_zoo_model_needs_data(tmp_path, tiny_checkpoint, capsys):
    from muxnet.cli import main

    spec, weights = tiny_checkpoint(2)
    assert main(["robustness", "--model", str(spec), "--checkpoint", str(weights),
                 "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not a digits run: pass --data or --imagenet-c" in err[0]
    assert not (tmp_path / "o").exists()
