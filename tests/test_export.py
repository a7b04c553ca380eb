"""ONNX and torch.export round trips, and the export command's handling of bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import muxnet
from muxnet.cli import main
from muxnet.deploy.export import export_model

ort = pytest.importorskip("onnxruntime")

# batch 1 and 3 at the export size (64) and at a second resolution (96): batch, height and width are dynamic
CASES = ((1, 64), (3, 64), (1, 96), (3, 96))


def check_onnx_round_trip(name: str, path, fuse: bool) -> None:
    model = muxnet.create_model(name, num_classes=7).eval()
    for m in model.modules():  # non-trivial BN statistics, so that a wrong fold or channel order shows
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0.0, 0.2)
            m.running_var.uniform_(0.5, 2.0)
    weights = path.with_suffix(".pt")
    torch.save(model.state_dict(), weights)
    onnx_path = export_model(name, path, checkpoint=weights, input_size=(3, 64, 64), fuse=fuse, num_classes=7)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    for batch, size in CASES:
        x = torch.randn(batch, 3, size, size)
        with torch.no_grad():
            expected = model(x).numpy()
        (got,) = session.run(None, {"input": x.numpy()})
        assert got.shape == (batch, 7)
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("name,fuse", [("muxnet_xs", True), ("muxnet_xs", False),
                                       pytest.param("muxnet_s", True, marks=pytest.mark.slow)])
def test_onnx_round_trip_spatial_multiplexing(tmp_path, name, fuse):
    """Subpixel parts export as SpaceToDepth plus a channel gather and DepthToSpace in CRD mode; a wrong
    channel order would not match PyTorch."""
    check_onnx_round_trip(name, tmp_path / f"{name}.onnx", fuse)


@pytest.mark.slow
@pytest.mark.parametrize("name", muxnet.list_models())
def test_onnx_round_trip_every_zoo_model(tmp_path, name):
    check_onnx_round_trip(name, tmp_path / f"{name}.onnx", fuse=True)


@pytest.mark.slow
def test_torch_export_round_trip(tmp_path):
    model = muxnet.create_model("muxnet_xs", num_classes=3).eval()
    torch.save(model.state_dict(), tmp_path / "w.pt")
    path = export_model("muxnet_xs", tmp_path / "xs.pt2", format="torch_export", checkpoint=tmp_path / "w.pt",
                        input_size=(3, 64, 64), fuse=True, num_classes=3)
    program = torch.export.load(str(path))
    for batch in (1, 3):
        x = torch.randn(batch, 3, 64, 64)
        with torch.no_grad():
            torch.testing.assert_close(program.module()(x), model(x), rtol=1e-4, atol=1e-5)


def test_exporting_random_weights_warns(tmp_path):
    with pytest.warns(UserWarning, match="random initial weights"), pytest.raises(ValueError, match="even"):
        export_model("muxnet_xs", tmp_path / "xs.onnx", input_size=(3, 48, 48), num_classes=3)  # fails fast


def test_input_size_spatial_multiplexing_cannot_take_fails_before_writing(tmp_path):
    out = tmp_path / "xs.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="even height and width"):
            export_model("muxnet_xs", out, input_size=(3, 48, 48), num_classes=3)
    assert not list(tmp_path.iterdir())


def test_mismatching_checkpoint_is_refused_and_nothing_written(tmp_path, capsys):
    torch.save(muxnet.create_model("muxnet_xs", num_classes=3).state_dict(), tmp_path / "xs.pt")
    out = tmp_path / "m.onnx"
    assert main(["export", "muxnet_m", "--checkpoint", str(tmp_path / "xs.pt"), "--output", str(out)]) == 2
    assert "does not fit" in capsys.readouterr().err
    assert not out.exists()


def test_existing_output_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "xs.onnx"
    out.write_text("keep me")
    assert main(["export", "muxnet_xs", "--output", str(out), "--input-size", "64"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_text() == "keep me"


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown export format"):
        export_model("muxnet_xs", tmp_path / "x.tflite", format="tflite")
