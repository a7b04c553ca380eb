"""The ``muxnet`` command line across subcommands: one vocabulary, old spellings kept as aliases, inputs checked
before any work, and ``--debug`` for a traceback."""

import json
import os
import subprocess
import sys

import pytest

from data.makers import TINY_SPEC
from muxnet.cli import build_parser, main
from muxnet.runtime.arguments import settle_resume

# every subcommand (detect and segment per action) and whether it reads a data directory
SUBCOMMANDS = [
    (["profile"], False), (["train"], True), (["eval"], True), (["export"], False), (["benchmark"], False),
    (["robustness"], True), (["cam"], True), (["search"], True), (["ablate"], True),
    (["detect", "train"], True), (["detect", "eval"], True), (["detect", "predict"], False),
    (["segment", "train"], True), (["segment", "eval"], True), (["segment", "predict"], False),
]


@pytest.mark.parametrize("command,reads_data", SUBCOMMANDS, ids=lambda c: " ".join(c) if isinstance(c, list) else "")
def test_every_subcommand_shows_the_one_vocabulary(command, reads_data, capsys):
    assert main([*command, "--help"]) == 0
    text = capsys.readouterr().out
    assert "--output" in text and "--debug" in text
    assert ("--data DIR" in text) == reads_data
    for old in ("--out ", "--chart"):  # kept as aliases, no longer advertised
        assert old not in text


@pytest.mark.parametrize("argv,dest,new", [
    (["search", "--out", "X"], "output", "--output"),
    (["search", "--dataset", "."], "data", "--data"),
    (["robustness", "--out", "X"], "output", "--output"),
    (["cam", "--out", "X"], "output", "--output"),
    (["cam", "--chestxray", "."], "data", "--data"),
    (["benchmark", "--chart", "X"], "output", "--output"),
])
def test_old_spellings_still_work_and_say_once_what_replaces_them(argv, dest, new, capsys):
    old_args = build_parser().parse_args(argv)
    command, old = argv[0], argv[1]
    assert capsys.readouterr().err == f"muxnet {command}: {old} is deprecated; use {new}\n"
    new_args = build_parser().parse_args([command, new, argv[2]])
    assert capsys.readouterr().err == ""
    assert getattr(old_args, dest) == getattr(new_args, dest) == argv[2]
    assert vars(old_args) == vars(new_args)  # nothing else differs: the alias sets only the new flag's dest


def test_robustness_and_cam_take_output():
    assert build_parser().parse_args(["robustness", "--output", "rob"]).output == "rob"
    assert build_parser().parse_args(["cam", "--output", "maps"]).output == "maps"
    assert build_parser().parse_args(["robustness"]).output == "runs/robustness"  # the default stands


def _settled(argv):
    args = build_parser().parse_args(argv)
    settle_resume(args)
    return args.resume, args.output


def test_resume_means_the_run_to_continue_everywhere(tmp_path, capsys):
    run = str(tmp_path)
    for command in (["train"], ["search"], ["ablate"], ["detect", "train"], ["segment", "train"]):
        assert _settled([*command, "--resume", run]) == (run, run)
        assert _settled([*command, "--output", run, "--resume"]) == (run, run)  # the old search spelling
        assert _settled([*command, "--output", run]) == (None, run)
    assert _settled(["search", "--out", run, "--resume"]) == (run, run)  # an old script, unchanged meaning
    capsys.readouterr()

    other = str(tmp_path / "other")
    cases = [
        (["train", "--resume", run, "--output", other], "give one of them"),
        (["search", "--resume"], "--resume without a directory continues the run in --output"),
        (["search", "--resume", "--output", other], f"{other} does not exist"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    assert main(["train", "--resume", other]) == 2  # argparse: the directory must exist
    assert "argument --resume: " + f"{other} does not exist" in capsys.readouterr().err


def test_a_resume_dir_without_a_run_is_one_line_before_any_work(tmp_path, capsys):
    for argv, message in ((["search", "--resume", str(tmp_path)], "holds no search archive"),
                          (["train", "--resume", str(tmp_path)], "has no recipe.yaml"),
                          (["detect", "train", "--resume", str(tmp_path)], "has no recipe.yaml")):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_search_resume_continues_with_the_recorded_configuration(tmp_path, capsys):
    run = tmp_path / "search"
    start = ["search", "--evaluator", "synthetic", "--population", "4", "--generations", "0", "--executor",
             "inprocess", "--targets", "params=0.6M,madds=2M;params=1.5M,madds=5.5M", "--output", str(run)]
    assert main(start) == 0
    capsys.readouterr()
    assert main(start) == 2  # an output directory that holds a search is not started again
    err = capsys.readouterr().err
    assert "already holds a search" in err and "pass --resume to continue it" in err
    # like `muxnet train --resume`, the run's own configuration: no flag needs repeating
    assert main(["search", "--resume", str(run), "--executor", "inprocess"]) == 0
    assert f"resuming {run}: 4 evaluations archived" in capsys.readouterr().out
    assert main(["search", "--resume", str(run), "--population", "6"]) == 2  # a flag that changes it is refused
    assert "different configuration (population: 4 -> 6)" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["train", "--data", "{missing}", "--output", "{out}"], "argument --data: {missing} does not exist"),
    (["search", "--data", "{missing}", "--output", "{out}"], "argument --data: {missing} does not exist"),
    (["search", "--dataset", "{missing}", "--out", "{out}"], "argument --dataset: {missing} does not exist"),
    (["robustness", "--imagenet-c", "{missing}", "--output", "{out}"], "argument --imagenet-c: {missing} does not"),
    (["cam", "--checkpoint", "{missing}", "--output", "{out}"], "argument --checkpoint: {missing} does not exist"),
    (["detect", "train", "--data", "{missing}", "--output", "{out}"], "argument --data: {missing} does not exist"),
    (["train", "--epochs", "-1", "--output", "{out}"], "argument --epochs: must be at least 1, got -1"),
    (["train", "--batch-size", "0", "--output", "{out}"], "argument --batch-size: must be at least 1, got 0"),
    (["search", "--population", "0", "--output", "{out}"], "argument --population: must be at least 1"),
    (["search", "--generations", "-2", "--output", "{out}"], "argument --generations: must be at least 0"),
    (["robustness", "--batch-size", "-4", "--output", "{out}"], "argument --batch-size: must be at least 1"),
    (["segment", "train", "--lr", "-0.1", "--output", "{out}"], "argument --lr: must be > 0"),
])
def test_bad_arguments_fail_before_anything_is_written(tmp_path, capsys, argv, message):
    paths = {"missing": str(tmp_path / "missing"), "out": str(tmp_path / "out")}
    assert main([a.format(**paths) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message.format(**paths) in err
    assert not (tmp_path / "out").exists()


def test_library_checks_run_before_the_work(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    taken = tmp_path / "metrics.json"
    taken.write_text("{}")
    cases = [
        (["search", "--data", str(empty), "--output", str(tmp_path / "s")], "cannot tell the layout"),
        (["train", "--device", "tpu9", "--output", str(tmp_path / "t")], "device: expected cpu, cuda or cuda:N"),
        (["eval", "muxnet_xs", "--output", str(taken)], "already exists"),
        (["profile", "muxnet_xs", "--output", str(taken)], "already exists"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "metrics.json"]
    assert taken.read_text() == "{}"


def test_profile_writes_the_table_it_prints(tmp_path, capsys):
    out = tmp_path / "table.txt"
    assert main(["profile", "muxnet_xs", "--input-size", "32", "--output", str(out)]) == 0
    assert out.read_text() == capsys.readouterr().out


def test_eval_writes_the_metrics_it_prints(tmp_path, capsys):
    spec = TINY_SPEC.save(tmp_path / "tiny.yaml")
    out = tmp_path / "metrics.json"
    assert main(["eval", str(spec), "--workers", "0", "--json", "--output", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert json.loads(out.read_text()) == printed and printed["count"] > 0


def test_dense_eval_takes_the_device(tmp_path, capsys, monkeypatch):
    import muxnet.train.tasks

    calls = []
    monkeypatch.setattr(muxnet.train.tasks, "evaluate_run", lambda *a: calls.append(a) or
                        {"model": "m", "dataset": "d", "count": 1, "miou": 1.0, "pixel_accuracy": 1.0})
    assert main(["segment", "eval", str(tmp_path), "--device", "cpu", "--set", "data.workers=0"]) == 0
    assert calls[0][-1] == [("training.device", "cpu"), "data.workers=0"]  # --set still has the last word
    assert main(["segment", "eval", str(tmp_path), "--device", "tpu9"]) == 2
    assert "device: expected cpu, cuda or cuda:N" in capsys.readouterr().err and len(calls) == 1


def test_debug_raises_instead_of_one_line(tmp_path, capsys, monkeypatch):
    failing = ["search", "--resume", str(tmp_path)]  # no archive: the search refuses to start
    monkeypatch.delenv("MUXNET_DEBUG", raising=False)
    assert main(failing) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    with pytest.raises(ValueError, match="holds no search archive"):
        main(["--debug", *failing])
    with pytest.raises(ValueError, match="holds no search archive"):
        main([*failing, "--debug"])  # also after the subcommand
    monkeypatch.setenv("MUXNET_DEBUG", "1")
    with pytest.raises(ValueError, match="holds no search archive"):
        main(failing)
    monkeypatch.setenv("MUXNET_DEBUG", "0")
    assert main(failing) == 2


def test_debug_shows_the_traceback_from_the_shell(tmp_path):
    command = [sys.executable, "-m", "muxnet.cli", "search", "--resume", str(tmp_path)]
    env = {k: v for k, v in os.environ.items() if k != "MUXNET_DEBUG"}
    quiet = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr
    assert quiet.stderr.strip().splitlines() == [f"muxnet search: error: --resume: {tmp_path} holds no search archive "
                                                 "(archive.sqlite)"]
    loud = subprocess.run(command, capture_output=True, text=True, env={**env, "MUXNET_DEBUG": "1"}, timeout=120)
    assert loud.returncode == 1
    assert "Traceback (most recent call last)" in loud.stderr and "SearchSetupError" in loud.stderr
