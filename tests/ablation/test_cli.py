"""``muxnet ablate`` on the command line: listing, a real family end to end, and bad input refused before work."""

from __future__ import annotations

import json

import pytest

import muxnet.train
from data.makers import make_image_folder
from muxnet.cli import main

from .figures import TINY_RUN


@pytest.fixture
def no_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a run was trained before the inputs were checked")

    monkeypatch.setattr(muxnet.train, "train", refuse)


@pytest.mark.parametrize("argv", [["ablate", "list"], ["ablate", "--family", "list"]])
def test_list_names_the_figures_and_the_families(argv, capsys):
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("fig8a", "fig8b", "mixnet_kernels", "mobilenetv2_spatialmux"))


def test_a_zoo_family_trains_end_to_end(tmp_path, capsys):
    folder = make_image_folder(tmp_path / "data", corrupt=False)
    out = tmp_path / "sweep"
    sets = [arg for key in TINY_RUN for arg in ("--set", key)]
    assert main(["ablate", "mobilenetv2_channelmux", "--seeds", "1", "--data", str(folder), "--output", str(out),
                 *sets]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] and [m["name"] for m in summary["members"]] == [
        "mobilenetv2_channelmux_l000", "mobilenetv2_channelmux_l025", "mobilenetv2_channelmux_l050"]
    params = [m["params"] for m in summary["members"]]
    madds = [m["madds"] for m in summary["members"]]
    assert params[0] > params[1] > params[2] and madds[0] > madds[1] > madds[2]  # leaving out saves both
    assert "mobilenetv2_channelmux_l025" in printed and f"wrote {out}/summary.json" in printed
    # a bare --resume of the finished sweep trains nothing and prints the same table
    assert main(["ablate", "--resume", str(out)]) == 0
    assert "mobilenetv2_channelmux_l050" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["ablate", "mobilenetv2_nothing"], "unknown family 'mobilenetv2_nothing'"),
    (["ablate", "fig8a", "--data", "{empty}"], "cannot tell the layout"),
    (["ablate", "fig8a", "--dataset", "cifar10"], "needs a directory"),
    (["ablate", "fig8a", "--set", "optimizer.lr=-1"], "recipe optimizer.lr"),
    (["ablate", "fig8a", "--device", "cuda:7"], "cuda"),
    (["ablate"], "name a figure or family"),
    (["ablate", "--resume", "{empty}"], "has no ablation.json"),
    (["ablate", "fig8a", "--members", "*_010,mobilenetv2_typo"], "--members mobilenetv2_typo matches no member"),
])
def test_bad_input_fails_before_work_with_one_line(argv, message, tmp_path, capsys, monkeypatch, no_training):
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("{empty}", str(tmp_path / "empty")) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("muxnet ablate: error:") and message in err[0], err
    assert not (tmp_path / "runs").exists()
