"""``muxnet cam`` end to end on a generated ChestX-Ray14-like folder, and its bad-input errors."""

import json

import numpy as np
import pytest
from PIL import Image

from muxnet.cli import main


def _chestxray(root):
    rng = np.random.default_rng(0)
    for name in ("00000001_000.png", "00000002_000.png"):
        Image.fromarray(rng.integers(0, 255, (64, 64), dtype=np.uint8), "L").save(root / name)
    (root / "BBox_List_2017.csv").write_text(
        "Image Index,Finding Label,Bbox [x,y,w,h],,,\n"
        "00000001_000.png,Mass,8,8,16,16\n00000002_000.png,Infiltrate,30,20,20,30\n"
        "00000001_000.png,Mass,40,40,8,8\n"  # a second Mass box: one image-class pair with the first
        "00000003_000.png,Nodule,1,1,4,4\n")  # not on disk: skipped
    return root


@pytest.mark.slow
def test_chestxray_boxes_end_to_end_and_nothing_overwritten(tmp_path, tiny_checkpoint, capsys):
    spec, weights = tiny_checkpoint(14)
    root = _chestxray(tmp_path)
    out = tmp_path / "cam"
    args = ["cam", "--model", str(spec), "--checkpoint", str(weights), "--data", str(root), "--output", str(out)]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["hits"]["cam"]) == {"Mass", "Infiltration", "all"}
    assert summary["hits"]["gradcam"]["all"]["count"] == 2 and summary["pointing_tolerance"] == 15
    # the original images are 64x64, so the two Mass boxes cover (16*16 + 8*8) / 64**2 of the image, dilated by 15
    assert summary["hits"]["cam"]["Mass"]["chance_pointing"] > 100 * (16 * 16 + 8 * 8) / 64 ** 2
    assert "pointing_class_mean" in summary["hits"]["cam"]["all"]
    assert [i["class"] for i in summary["images"]] == [4, 3]   # Mass, Infiltration in ChestX-Ray14's label order
    assert (out / "cam_000.png").stat().st_size > 0
    before = (out / "summary.json").read_bytes()
    assert main(args) == 2
    assert "already holds a cam run" in capsys.readouterr().err
    assert (out / "summary.json").read_bytes() == before


def test_bad_inputs_give_one_line(tmp_path, tiny_checkpoint, capsys):
    spec, weights = tiny_checkpoint(3)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    good = tmp_path / "good.png"
    Image.fromarray(np.zeros((20, 20, 3), dtype=np.uint8)).save(good)
    base = ["cam", "--model", str(spec), "--checkpoint", str(weights), "--method", "cam"]
    cases = [
        (["--images", str(bad), "--output", str(tmp_path / "a")], "cannot read image"),
        (["--images", str(good), "--classes", "7", "--output", str(tmp_path / "b")], "class index 7 is out of range"),
    ]
    for extra, message in cases:
        assert main(base + extra) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_checkpoint_without_classifier(tmp_path, tiny_checkpoint, capsys):
    from safetensors.torch import load_file, save_file

    spec, weights = tiny_checkpoint(3)
    headless = tmp_path / "headless.safetensors"
    save_file({k: v for k, v in load_file(str(weights)).items() if not k.startswith("classifier.")}, str(headless))
    good = tmp_path / "good.png"
    Image.fromarray(np.zeros((20, 20, 3), dtype=np.uint8)).save(good)
    assert main(["cam", "--model", str(spec), "--checkpoint", str(headless), "--images", str(good),
                 "--output", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no classifier" in err[0]
