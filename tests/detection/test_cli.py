"""``muxnet detect`` and ``muxnet segment`` end to end on tiny embedded scenes: train, refuse to overwrite, resume,
eval, predict."""

import json
import shutil

import pytest
import torch
import yaml

from muxnet.cli import main

TINY = ["--image-size", "64", "--batch-size", "8", "--no-progress", "--threads", "1",
        "--set", "data.scenes={train: 48, test: 16, size: 64, seed: 0}", "--set", "schedule.warmup_epochs=0",
        "--set", "model.backbone_weights=null"]
DETECT_TINY = [*TINY, "--set", "data.scenes.digit_sizes=[29, 48]"]  # the default's 39-64 pixel digits fill 64x64


def _records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize("command, key, loss_falls_to, extra", [
    ("detect", "voc07_map", 0.75, ["--lr", "0.003", "--set", "data.scenes.digit_sizes=[29, 48]"]),
    ("segment", "miou", 0.9, ["--lr", "0.003", "--set", "model.output_stride=16"]),
])
def test_train_eval_predict_on_embedded_scenes(tmp_path, capsys, command, key, loss_falls_to, extra):
    run = tmp_path / "run"
    args = [command, "train", "--epochs", "3", "--output", str(run), "--set", f"data.root={tmp_path / 'data'}",
            *TINY, *extra]
    assert main(args) == 0
    records = _records(run)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    # What is robust at this size is the loss (here detection 11.6 -> 6.6, segmentation 2.63 -> 2.05). The
    # metric on 16 test scenes is noise after three epochs of 48 images, and which way it moves depends on the
    # CPU's floating-point kernels; that the tasks learn is measured at full length by
    # benchmarks/bench_dense_learning.py (BENCHMARKS.md).
    assert records[-1]["train_loss"] < loss_falls_to * records[0]["train_loss"]
    assert all(0 <= r["test"][key] <= 100 for r in records)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["best"]["test"][key] == max(r["test"][key] for r in records)
    assert summary["best"]["epoch"] == 1 + max(range(3), key=lambda e: (records[e]["test"][key], -e))
    for name in ("best.safetensors", "last.safetensors", "last.pt", "recipe.yaml"):
        assert (run / name).is_file()

    before = (run / "summary.json").read_text()
    assert main(args) == 2  # the run directory is never overwritten
    assert "already holds a run" in capsys.readouterr().err
    assert (run / "summary.json").read_text() == before

    assert main([command, "eval", str(run), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result[key] == pytest.approx(summary["best"]["test"][key])

    out = tmp_path / "pictures"
    assert main([command, "predict", str(run), "--output", str(out)]) == 0
    assert len(list(out.glob("*.png"))) == 8
    assert main([command, "predict", str(run), "--output", str(out)]) == 2  # nor are predictions
    assert "already holds predictions" in capsys.readouterr().err


@pytest.mark.slow
def test_a_run_killed_mid_epoch_resumes_to_the_same_result(tmp_path, monkeypatch):
    from muxnet.detection.task import DetectionTask

    common = ["detect", "train", "--epochs", "2", "--set", f"data.root={tmp_path / 'data'}", *DETECT_TINY]
    assert main([*common, "--output", str(tmp_path / "whole")]) == 0

    loss, calls = DetectionTask.loss, []

    def dies_at_step_5(self, *args):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt  # a kill after the step-3 checkpoint, in the middle of epoch 1
        return loss(self, *args)

    monkeypatch.setattr(DetectionTask, "loss", dies_at_step_5)
    with pytest.raises(KeyboardInterrupt):
        main([*common, "--output", str(tmp_path / "cut"), "--set", "training.checkpoint_every_steps=3"])
    monkeypatch.setattr(DetectionTask, "loss", loss)
    assert json.loads((tmp_path / "cut" / "last.json").read_text()) == {"epoch": 0, "batch": 3, "step": 3}
    assert main(["detect", "train", "--resume", str(tmp_path / "cut")]) == 0
    whole, cut = _records(tmp_path / "whole"), _records(tmp_path / "cut")
    assert [r["epoch"] for r in cut] == [1, 2]
    for a, b in zip(whole, cut):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-4)
        assert b["test"]["voc07_map"] == pytest.approx(a["test"]["voc07_map"], rel=1e-3, abs=1e-3)


def test_bad_data_gives_one_error_line(tmp_path, capsys):
    assert main(["detect", "train", "--data", str(tmp_path), "--output", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no VOCdevkit" in err[0]
    assert main(["segment", "train", "--data", str(tmp_path), "--output", str(tmp_path / "run")]) == 2
    assert "images/training: no such folder" in capsys.readouterr().err


@pytest.mark.slow
def test_a_digits_backbone_is_pretrained_once_inside_the_run(tmp_path, capsys):
    from safetensors.torch import load_file

    from muxnet.detection.task import DetectionTask
    from muxnet.train.tasks import backbone_weights, load_task_recipe

    run = tmp_path / "run"
    recipe = load_task_recipe(DetectionTask(), "scenes_ssdlite", [
        ("model.backbone_weights", "digits"), ("model.backbone_pretrain", {"epochs": 1, "image_size": 32})])
    weights = backbone_weights(DetectionTask(), recipe, run, print)
    assert weights == str(run / "backbone" / "best.safetensors")
    assert json.loads((run / "backbone" / "summary.json").read_text())["model"] == "muxnet_xs"
    # only the digit images of the training scenes: the test scenes' digits stay unseen
    assert yaml.safe_load((run / "backbone" / "recipe.yaml").read_text())["data"]["digits_pool"] == "scenes_train"
    detector = DetectionTask().build_model({**recipe, "model": {**recipe["model"], "backbone_weights": weights}}, 10)
    stem = load_file(weights)["conv_stem.weight"]
    assert torch.equal(detector.backbone.body.conv_stem.weight, stem)
    capsys.readouterr()
    assert backbone_weights(DetectionTask(), recipe, run, print) == weights  # reused, not trained again
    assert "training" not in capsys.readouterr().out

    # a command line run pre-trains inside its run directory; eval and predict never need the backbone again
    run = tmp_path / "cli"
    assert main(["detect", "train", "--epochs", "1", "--output", str(run), "--set", f"data.root={tmp_path / 'data'}",
                 *DETECT_TINY, "--set", "model.backbone_weights=digits",
                 "--set", "model.backbone_pretrain={epochs: 1, image_size: 32}"]) == 0
    assert (run / "backbone" / "best.safetensors").is_file()
    shutil.rmtree(run / "backbone")
    assert main(["detect", "eval", str(run), "--json"]) == 0
    assert not (run / "backbone").exists()


def test_backbone_weights_that_are_not_there_are_one_error_line(tmp_path, capsys):
    assert main(["detect", "train", "--output", str(tmp_path / "run"), "--set", f"data.root={tmp_path / 'data'}",
                 *DETECT_TINY, "--set", f"model.backbone_weights={tmp_path / 'nothing.safetensors'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no checkpoint at" in err[0] and "digits" in err[0]
