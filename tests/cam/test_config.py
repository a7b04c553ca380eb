"""A cam run checks everything it is given before it loads, trains or writes anything."""

import pytest

from muxnet.cam import CamConfig, run_cam
from muxnet.cli import main


def test_unreadable_images_and_a_missing_box_list_fail_before_the_default_model(tmp_path, no_model, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    xray = tmp_path / "xray"
    xray.mkdir()
    cases = [(["--images", str(bad)], "cannot read image"),
             (["--data", str(xray)], "no box list at"),
             (["--boxes", str(bad)], "give --data too")]
    for flags, message in cases:
        assert main(["cam", *flags, "--output", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    (xray / "BBox_List_2017.csv").write_text("Image Index,Finding Label,Bbox [x,y,w,h]\nnone.png,Mass,1,1,4,4\n")
    with pytest.raises(ValueError, match="none of the 1 boxed images were found"):
        run_cam(chestxray=xray, output=tmp_path / "o")
    with pytest.raises(ValueError, match="is not a digits run"):
        run_cam(model="muxnet_xs", output=tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_the_config_checks_values():
    assert CamConfig(method="cam").methods == ("cam",) and CamConfig().methods == ("cam", "gradcam")
    assert CamConfig().tolerance == 15  # TorchRay's PointingGame default
    for settings, message in [({"method": "saliency"}, "method must be cam, gradcam or both"),
                              ({"threshold": 0.0}, r"threshold must be in \(0, 1\]"),
                              ({"images": ["a.png"], "chestxray": "x"}, "not both"),
                              ({"max_images": 0}, "max_images: must be an integer >= 1"),
                              ({"classes": [-1]}, "class indices must be >= 0"),
                              ({"tolerance": -1}, "tolerance: must be an integer number of pixels >= 0"),
                              ({"tolerance": 1.5}, "tolerance: must be an integer")]:
        with pytest.raises(ValueError, match=message):
            CamConfig(**settings)


def test_the_embedded_digits_maps_end_to_end(tmp_path, monkeypatch):
    """The digits source with a stand-in for the trained default: maps, boxes around the ink, hits per class."""
    import json

    import muxnet.train.targets as targets
    from data.makers import TINY_SPEC
    from muxnet.models import create_model

    run_dir = tmp_path / "digits-run"
    run_dir.mkdir()
    stub = targets.Target(create_model(TINY_SPEC, num_classes=10).eval(), "tiny_mux", None,
                          {"data": {"dataset": "digits", "image_size": 32, "seed": 0}}, run_dir)
    monkeypatch.setattr(targets, "load_target", lambda *args, **kwargs: stub)
    summary = run_cam(model=run_dir, output=tmp_path / "o", method="cam", max_images=5, device="cpu",
                      log=lambda line: None)
    assert [image["name"] for image in summary["images"]] == [f"digit {i}" for i in range(5)]
    assert all("scores" in image for image in summary["images"]) and summary["hits"]["cam"]["all"]["count"] == 5
    assert summary["pictures"] == ["cam_000.png"] and summary["accuracy"] is not None
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["hits"] == summary["hits"]
