"""A robustness run checks everything it is given before it loads, trains or writes anything."""

import time

import pytest

from muxnet.cli import main
from muxnet.robustness import RobustnessConfig, run_robustness


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_an_empty_imagenet_c_folder_fails_at_once(tmp_path, no_model, capsys):
    empty = tmp_path / "imagenet-c"
    empty.mkdir()
    began = time.perf_counter()
    assert main(["robustness", "--imagenet-c", str(empty), "--output", str(tmp_path / "o")]) == 2
    assert time.perf_counter() - began < 5
    assert "holds none of the expected" in _one_line(capsys)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("flags, message", [
    (["--corruptions", "fog,mist"], "unknown corruption 'mist'"),
    (["--severities", "3,6"], "severity must be one of (1, 2, 3, 4, 5), got 6"),
])
def test_a_bad_corruption_or_severity_fails_before_the_default_model(tmp_path, no_model, capsys, flags, message):
    assert main(["robustness", *flags, "--output", str(tmp_path / "o")]) == 2
    assert message in _one_line(capsys)
    assert not (tmp_path / "o").exists()


def test_a_taken_output_and_an_unreadable_reference_fail_before_the_model(tmp_path, no_model):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "summary.json").write_text("{}")
    with pytest.raises(FileExistsError, match="already holds a robustness run"):
        run_robustness(output=taken)
    bad = tmp_path / "reference.json"
    bad.write_text("not json")
    with pytest.raises(ValueError, match="cannot read reference errors"):
        run_robustness(output=tmp_path / "o", reference=bad)
    with pytest.raises(ValueError, match="is not a digits run"):
        run_robustness(model="muxnet_xs", output=tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_the_config_checks_values_and_names_the_field():
    config = RobustnessConfig(corruptions=None, severities=["2"], output="x")
    assert config.corruptions[0] == "gaussian_noise" and config.severities == (2,) and config.embedded
    for settings, message in [({"max_images": 0}, "max_images: must be an integer >= 1"),
                              ({"batch_size": -1}, "batch_size: must be an integer >= 1"),
                              ({"workers": -1}, "workers: must be an integer >= 0"),
                              ({"corruptions": "fog"}, "expected a list of names"),
                              ({"severities": ["high"]}, "severities: expected integers 1-5")]:
        with pytest.raises(ValueError, match=message):
            RobustnessConfig(**settings)
    with pytest.raises(TypeError, match="not both"):
        run_robustness(RobustnessConfig(), seed=1)


@pytest.mark.slow
def test_the_embedded_digits_source_end_to_end(tmp_path, monkeypatch):
    """The digits source with a stand-in for the trained default (a random tiny model on a digits run): every
    set is measured on the model and on the linear reference, which normalises CE."""
    pytest.importorskip("imagecorruptions")
    import json

    import muxnet.train.targets as targets
    from data.makers import TINY_SPEC
    from muxnet.models import create_model

    run_dir = tmp_path / "digits-run"
    run_dir.mkdir()
    stub = targets.Target(create_model(TINY_SPEC, num_classes=10).eval(), "tiny_mux", None,
                          {"data": {"dataset": "digits", "image_size": 32, "seed": 0}}, run_dir)
    monkeypatch.setattr(targets, "load_target", lambda *args, **kwargs: stub)
    out = tmp_path / "o"
    summary = run_robustness(model=run_dir, output=out, corruptions=["fog", "contrast"], severities=[1, 3],
                             max_images=6, batch_size=4, device="cpu", log=lambda line: None)
    assert list(summary["models"]) == ["tiny_mux", "linear reference"]
    assert summary["reference"]["name"] == "linear reference" and summary["missing"] == []
    assert summary["reference"]["missing"] == {}  # severities 1, 3 only: no CE, and nothing the reference lacks
    errors = summary["models"]["tiny_mux"]["errors"]
    assert set(errors) == {"fog", "contrast"} and errors["fog"]["3"]["count"] == 6
    assert summary["models"]["linear reference"]["clean"]["count"] == 6
    assert json.loads((out / "summary.json").read_text())["models"] == summary["models"]
    assert all((out / name).stat().st_size > 0 for name in ("heatmap.png", "bars.png", "examples.png"))


def test_an_image_folder_is_cropped_to_the_model_and_corrupted(tmp_path, monkeypatch):
    pytest.importorskip("imagecorruptions")
    import dataclasses

    import numpy as np
    from PIL import Image

    import muxnet.train.targets as targets
    from data.makers import TINY_SPEC
    from muxnet.models import create_model

    for c, name in enumerate(("cat", "dog")):
        (tmp_path / "val" / name).mkdir(parents=True)
        for i in range(2):
            pixels = np.random.default_rng(10 * c + i).integers(0, 255, (48, 40, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "val" / name / f"{i}.png")
    model = create_model(dataclasses.replace(TINY_SPEC, input_size=(3, 32, 32)), num_classes=2).eval()
    monkeypatch.setattr(targets, "load_target", lambda *a, **k: targets.Target(model, "tiny_mux", None, {}, None))
    summary = run_robustness(data=tmp_path / "val", output=tmp_path / "o", corruptions=["pixelate"],
                             severities=[2], device="cpu", log=lambda line: None)
    assert summary["reference"]["name"].lower().startswith("alexnet")
    assert summary["models"]["tiny_mux"]["clean"]["count"] == 4
    assert summary["models"]["tiny_mux"]["errors"]["pixelate"]["2"]["count"] == 4
