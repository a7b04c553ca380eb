"""One class-folder tree, read the same way by ``muxnet train --data`` and ``muxnet search --data``."""

import json
import sqlite3

import pytest

from data.makers import TINY_SPEC, make_flat_folder, make_image_folder
from muxnet import create_model
from muxnet.cli import main

CLASSES = ("cat", "dog", "fox")  # three, so a layout read as its split folders (train, val) would show


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["split", "flat"])
def test_train_and_search_read_the_same_folder(tmp_path, capsys, layout):
    make = make_image_folder if layout == "split" else make_flat_folder
    root = make(tmp_path / "images", classes=CLASSES, corrupt=True)
    spec = TINY_SPEC.save(tmp_path / "tiny.yaml")
    search = ["search", "--data", str(root), "--population", "4", "--generations", "0", "--epochs", "1",
              "--executor", "inprocess", "--targets", "params=0.6M,madds=2M;params=1.5M,madds=5.5M"]

    # a corrupt image stops both commands with the same one line, naming it
    for command in (["train", "--data", str(root), "--model", str(spec), "--output", str(tmp_path / "t0"),
                     "--workers", "0", "--epochs", "1", "--image-size", "16", "--no-progress"],
                    [*search, "--output", str(tmp_path / "s0")]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "cannot read image" in err[0] and "broken.png" in err[0], err

    run = tmp_path / "train"
    assert main(["train", "--data", str(root), "--model", str(spec), "--output", str(run), "--workers", "0",
                 "--epochs", "1", "--batch-size", "64", "--image-size", "16", "--no-progress", "--threads", "1",
                 "--skip-bad-images"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["dataset"] == "imagefolder" and summary["num_classes"] == 3  # not the split folders
    assert summary["bad_images"] == 1  # one batch of every image: the broken one was met

    out = tmp_path / "search"
    assert main([*search, "--output", str(out), "--skip-bad-images"]) == 0
    with sqlite3.connect(out / "archive.sqlite") as db:
        rows = db.execute("SELECT status, error FROM evaluations").fetchall()
    assert len(rows) == 4 and all(status == "ok" and 0 <= error <= 1 for status, error in rows)
    specs = sorted((out / "top").glob("*.yaml"))
    assert specs and create_model(specs[0]).num_classes == 3
    assert len((out / "bad_images.txt").read_text().splitlines()) == 1
