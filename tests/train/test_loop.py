import json
import math

import pytest
import torch

import muxnet
from data.makers import TINY_SPEC, make_chestxray
from muxnet.cli import main
from muxnet.train import RunError, train, train_and_evaluate
from muxnet.train.recipes import load_recipe
from muxnet.train.report import METRICS, read_metrics

FAST = ["--epochs", "2", "--workers", "0", "--batch-size", "4", "--image-size", "16", "--no-progress", "--threads", "1",
        "--set", "schedule.warmup_epochs=0", "--set", "optimizer.lr=0.05"]


def test_train_image_folder_skipping_bad_images_then_eval(image_folder, tiny_spec_file, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--data", str(image_folder), "--model", str(tiny_spec_file), "--output", str(run),
                 "--skip-bad-images", *FAST]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["recipe"] == "imagenet" and summary["dataset"] == "imagefolder" and summary["num_classes"] == 2
    bad = (run / "bad_images.txt").read_text().splitlines()  # met in both epochs, listed once
    assert summary["bad_images"] == 1 and len(bad) == 1 and "broken.png" in bad[0]
    assert summary["params"] == sum(p.numel() for p in muxnet.create_model(tiny_spec_file, num_classes=2)
                                    .parameters())
    assert summary["madds"] > 0 and summary["last"]["epoch"] == 2 and summary["steps"] == 6
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2] and all(0 <= r["val"]["top1"] <= 100 for r in lines)
    # the imagenet recipe keeps an EMA: the saved weights are the EMA's, and load through load_checkpoint
    model = muxnet.create_model(tiny_spec_file, num_classes=2)
    muxnet.load_checkpoint(model, run / "best.safetensors")
    muxnet.load_checkpoint(model, run / "last.pt")
    capsys.readouterr()
    assert main(["eval", str(run), "--json", "--split", "val"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["count"] == 4 and result["top1"] == pytest.approx(summary["best"]["val"]["top1"])
    assert main(["eval", str(tiny_spec_file), "--checkpoint", str(run / "last.safetensors"), "--data",
                 str(image_folder), "--image-size", "16", "--split", "val", "--workers", "0"]) == 0
    assert "top1" in capsys.readouterr().out


@pytest.mark.parametrize("workers", ["0", "2"])
def test_corrupt_image_stops_with_one_line_naming_it(image_folder, tiny_spec_file, tmp_path, capsys, workers):
    code = main(["train", "--data", str(image_folder), "--model", str(tiny_spec_file), "--output",
                 str(tmp_path / "run"), *FAST, "--workers", workers])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err  # not the DataLoader worker's traceback
    assert err[0].startswith("muxnet train: error: cannot read image ") and "broken.png" in err[0]
    assert "--skip-bad-images" in err[0]


def test_existing_run_is_not_overwritten(tmp_path):
    recipe = load_recipe("digits", [("output.dir", str(tmp_path)), ("output.progress", False)])
    (tmp_path / "summary.json").write_text("{}")
    with pytest.raises(RunError, match="already holds a run"):
        train(recipe)
    assert (tmp_path / "summary.json").read_text() == "{}"


def test_training_loss_is_built_or_refused(tmp_path, tiny_spec_file, capsys):
    root = make_chestxray(tmp_path / "x", n=24)
    code = main(["train", "--data", str(root), "--model", str(tiny_spec_file), "--output", str(tmp_path / "run"),
                 "--set", "training.loss=cross_entropy", *FAST])
    assert code == 2 and "training.loss: 'cross_entropy'" in capsys.readouterr().err
    digits = load_recipe("digits", [("model.name", str(tiny_spec_file)), ("data.image_size", 16),
                                    ("schedule.epochs", 1), ("schedule.warmup_epochs", 0), ("optimizer.lr", 0.5),
                                    ("output.dir", str(tmp_path / "bce")), ("output.progress", False),
                                    ("training.threads", 1), ("training.loss", "bce")])
    summary = train(digits, log=lambda _: None)
    record = json.loads((tmp_path / "bce" / "metrics.jsonl").read_text())
    # one-hot BCE over 10 outputs (ln 2 at zero logits), not softmax cross-entropy (ln 10 at zero logits)
    assert record["train_loss"] < math.log(2) and summary["last"]["test"]["count"] == 270


def test_chestxray_multilabel_training_reports_auroc(tmp_path, tiny_spec_file):
    root = make_chestxray(tmp_path / "x", n=24)
    run = tmp_path / "run"
    assert main(["train", "--data", str(root), "--model", str(tiny_spec_file), "--output", str(run),
                 "--set", "data.val_fraction=0", *FAST]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["multi_label"] and summary["selected_on"] == "test"
    test = summary["last"]["test"]
    assert set(test["auroc_per_class"]) == set(muxnet.data.CHESTXRAY_LABELS)
    assert 0 <= test["auroc"] <= 100 and test["count"] == 3


def test_transfer_from_a_checkpoint_gets_a_new_classifier(tmp_path, tiny_spec_file):
    source = muxnet.create_model(tiny_spec_file, num_classes=7)
    ckpt = muxnet.save_weights(source, tmp_path / "source.safetensors")
    run = tmp_path / "run"
    recipe = load_recipe("digits", [("model.name", str(tiny_spec_file)), ("model.pretrained", str(ckpt)),
                                    ("data.image_size", 16), ("schedule.epochs", 1), ("optimizer.lr", 1e-9),
                                    ("schedule.warmup_epochs", 0), ("output.dir", str(run)),
                                    ("output.progress", False), ("training.threads", 1)])
    summary = train(recipe, log=lambda _: None)
    assert summary["num_classes"] == 10
    from safetensors.torch import load_file

    trained = load_file(str(run / "last.safetensors"))
    # lr ~ 0: the body is the source's (BN statistics aside), the 10-way classifier is new
    assert torch.allclose(trained["conv_stem.weight"], source.state_dict()["conv_stem.weight"], atol=1e-6)
    assert trained["classifier.weight"].shape == (10, TINY_SPEC.num_features)


def test_proxy_training_returns_held_out_error():
    from torch.utils.data import Subset

    from muxnet.data import load_digits

    digits = load_digits(image_size=16)
    torch.manual_seed(0)
    model = muxnet.build_model(TINY_SPEC.replace(num_classes=10))
    train_set = Subset(digits.train, range(800))
    error = train_and_evaluate(model, train_set, digits.val, epochs=5, seed=0, overrides=("optimizer.lr=0.1",))
    # chance is 0.9; seeds 0-5 gave 0.44-0.64 after 5 epochs (after 3 they spread to 0.76, too near a bound that
    # another CPU's rounding could cross)
    assert 0.0 <= error < 0.75
    torch.manual_seed(0)
    again = train_and_evaluate(muxnet.build_model(TINY_SPEC.replace(num_classes=10)), train_set, digits.val,
                               epochs=5, seed=0, overrides=("optimizer.lr=0.1",))
    assert again == error


def test_a_kill_between_the_epoch_weights_and_the_checkpoint_leaves_a_run_that_restarts(tmp_path, tiny_spec_file,
                                                                                        monkeypatch):
    import muxnet.train.loop as loop

    recipe = load_recipe("digits", [("output.dir", str(tmp_path / "run")), ("output.progress", False),
                                    ("model.name", str(tiny_spec_file)), ("data.image_size", 16),
                                    ("schedule.epochs", 1), ("training.threads", 1)])

    def killed(*args, **kwargs):  # the process dies after the epoch's weights, before last.pt is written
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "save_training_checkpoint", killed)
    with pytest.raises(KeyboardInterrupt):
        train(recipe, log=lambda line: None)
    assert (tmp_path / "run" / "last.safetensors").is_file() and not (tmp_path / "run" / "last.pt").exists()
    monkeypatch.undo()
    assert train(recipe, log=lambda line: None)["last"]["epoch"] == 1  # no half checkpoint blocks a restart


def test_a_kill_right_after_the_checkpoint_loses_no_epoch_line(tmp_path, tiny_spec_file, monkeypatch):
    import muxnet.train.loop as loop

    def recipe(name):
        return load_recipe("digits", [("output.dir", str(tmp_path / name)), ("output.progress", False),
                                      ("model.name", str(tiny_spec_file)), ("data.image_size", 16),
                                      ("schedule.epochs", 2), ("training.threads", 1)])

    def losses(name):
        return [record["train_loss"] for record in read_metrics(tmp_path / name / METRICS)]

    train(recipe("full"), log=lambda line: None)
    real = loop.save_training_checkpoint

    def killed(run_dir, parts, rngs, progress, *args, **kwargs):  # the process dies once epoch 1's last.pt is on disk
        real(run_dir, parts, rngs, progress, *args, **kwargs)
        if progress.epoch == 1 and progress.batch == 0:
            raise KeyboardInterrupt

    monkeypatch.setattr(loop, "save_training_checkpoint", killed)
    with pytest.raises(KeyboardInterrupt):
        train(recipe("killed"), log=lambda line: None)
    monkeypatch.undo()
    train(recipe("killed"), resume=True, log=lambda line: None)
    assert losses("killed") == losses("full") and len(losses("full")) == 2
