"""The one training loop runs every task: classification, detection and segmentation for one step per epoch
(two epochs, so that the EMA the loop keeps for every task has moved off the model: timm's first update copies
it), and the dense tasks under ``torchrun`` with 2 processes (gloo)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from muxnet.train.checkpoint import read_training_checkpoint
from muxnet.train.classification import ClassificationTask
from muxnet.train.loop import run_training
from muxnet.train.recipes import load_recipe
from muxnet.train.tasks import DenseTrainingTask, load_task_recipe

RUN_FILES = ("recipe.yaml", "metrics.jsonl", "last.pt", "best.pt", "last.safetensors", "best.safetensors",
             "summary.json")
QUIET = [("schedule.epochs", 2), ("schedule.warmup_epochs", 0), ("output.progress", False), ("training.threads", 1),
         ("training.ema_decay", 0.5)]
# tiny embedded scenes, all of them in one batch: one optimizer step per epoch
SCENES = [("data.scenes", {"train": 16, "test": 8, "size": 64, "seed": 0}), ("data.image_size", 64),
          ("data.batch_size", 16), ("model.backbone_weights", None), *QUIET]


def _classification(tmp_path, tiny_spec_file):
    # the 1257 digit training images in one batch of 1000 (the last, partial batch is dropped): one step
    recipe = load_recipe("digits", [("model.name", str(tiny_spec_file)), ("data.image_size", 16),
                                    ("data.batch_size", 1000), ("data.workers", 0),
                                    ("output.dir", str(tmp_path / "run")), *QUIET])
    return ClassificationTask(recipe), "val", "top1"


def _dense(task, recipe_name, extra):
    def make(tmp_path, tiny_spec_file):
        recipe = load_task_recipe(task, recipe_name, [("data.root", str(tmp_path / "data")),
                                                      ("output.dir", str(tmp_path / "run")), *SCENES, *extra])
        return DenseTrainingTask(task, recipe), "test", task.primary
    return make


def _detection(tmp_path, tiny_spec_file):
    from muxnet.detection.task import DetectionTask

    return _dense(DetectionTask(), "scenes_ssdlite", [("data.scenes.digit_sizes", [29, 48])])(tmp_path,
                                                                                               tiny_spec_file)


def _segmentation(tmp_path, tiny_spec_file):
    from muxnet.segmentation.task import SegmentationTask

    return _dense(SegmentationTask(), "scenes_c1", [("model.output_stride", 16)])(tmp_path, tiny_spec_file)


@pytest.mark.parametrize("make", [_classification, _detection, _segmentation],
                         ids=["classification", "detection", "segmentation"])
def test_every_task_trains_through_the_one_loop(tmp_path, tiny_spec_file, make):
    task, split, key = make(tmp_path, tiny_spec_file)
    lines = []
    summary = run_training(task, log=lines.append)
    run = tmp_path / "run"
    assert all((run / name).is_file() for name in RUN_FILES)
    assert summary["steps"] == 2 and summary["selected_on"] == split and summary["world_size"] == 1
    assert json.loads((run / "summary.json").read_text()) == summary
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(r["epoch"], r["step"]) for r in records] == [(1, 1), (2, 2)]
    best = max(records, key=lambda r: r[split][key])
    assert summary["best"][split][key] == best[split][key] >= 0 and summary["last"]["epoch"] == 2
    assert lines[0].startswith("training ") and "1 steps/epoch x 2 epochs, 1 process(es)" in lines[0]
    assert lines[1].startswith("epoch 1, train loss ") and f"{split} {key} " in lines[1]

    # the saved weights are the EMA's, which after the second step lags behind the trained model
    state = read_training_checkpoint(run / "last.pt")
    saved = load_file(str(run / "last.safetensors"))
    assert saved.keys() == state["ema"].keys() == state["model"].keys()
    assert all(torch.equal(saved[k], state["ema"][k]) for k in saved)
    assert any(not torch.equal(state["model"][k], state["ema"][k]) for k in saved if saved[k].is_floating_point())


@pytest.mark.skipif(shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None,
                    reason="torchrun not installed")
@pytest.mark.parametrize("command, key, extra", [
    ("segment", "miou", ["--set", "model.output_stride=16"]),
    ("detect", "voc07_map", ["--set", "data.scenes.digit_sizes=[29, 48]"]),
])
def test_dense_task_under_torchrun_with_two_processes(tmp_path, command, key, extra):
    run = tmp_path / "ddp"
    torchrun = str(Path(sys.executable).parent / "torchrun")
    cmd = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "muxnet.cli", command, "train",
           "--output", str(run), "--epochs", "2", "--image-size", "64", "--batch-size", "4", "--no-progress",
           "--threads", "1", "--set", f"data.root={tmp_path / 'data'}",
           "--set", "data.scenes={train: 16, test: 4, size: 64, seed: 0}", "--set", "schedule.warmup_epochs=0",
           "--set", "model.backbone_weights=null", *extra]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 process(es)" in result.stdout
    assert result.stdout.count("wrote ") == 1  # one summary line, from rank 0
    assert all((run / name).is_file() for name in RUN_FILES)
    summary = json.loads((run / "summary.json").read_text())
    # 16 training scenes over 2 ranks: 8 each, 2 batches of 4 per rank and epoch
    assert summary["world_size"] == 2 and summary["steps"] == 2 * 2
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]  # one line per epoch, from one process
    # the main process evaluates the whole test split and shares the numbers
    assert all(r["test"]["count"] == 4 and 0 <= r["test"][key] <= 100 for r in records)
    assert len(read_training_checkpoint(run / "last.pt")["rng"]) == 2  # both ranks' RNG states, to resume
