"""``muxnet ablate``'s sweep: every member over every seed through the one loop, resumable run by run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from data.makers import TINY_SPEC, make_image_folder
from muxnet.ablation import AblationConfig, AblationError, Figure, Line, Member, format_table, run_ablation
from muxnet.ablation.figures import FIGURES, get_figure
from muxnet.ablation.sweep import network_key
from muxnet.models import resolve_spec
from muxnet.models.ablations import for_input_size
from muxnet.models.network import build_model
from muxnet.models.spec import BlockSpec, NetworkSpec
from muxnet.profiling import profile_spec
from muxnet.runtime.processes import descendants
from process_tree import needs_proc, survivors, wait_for

from .figures import TINY_RUN, tiny_figure

TESTS = Path(__file__).resolve().parents[1]


@pytest.fixture
def folder(tmp_path) -> Path:
    return make_image_folder(tmp_path / "data", corrupt=False)


def quiet(line: str) -> None:
    pass


def _config(output: Path, data: Path, seeds: int = 2, overrides=TINY_RUN) -> AblationConfig:
    return AblationConfig(output=str(output), seeds=seeds, data=str(data), overrides=list(overrides))


def _recipe(run_dir: Path) -> dict:
    return yaml.safe_load((run_dir / "recipe.yaml").read_text())


def test_two_members_two_seeds_one_epoch(tmp_path, folder):
    out = tmp_path / "sweep"
    summary = run_ablation(_config(out, folder), figure=tiny_figure(tmp_path / "specs"), log=quiet)
    assert (summary["runs_done"], summary["runs_total"], summary["complete"]) == (4, 4, True)
    assert summary["seeds"] == [0, 1] and summary["epochs"] == 1
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert (out / "figure.png").stat().st_size > 10_000
    for member in summary["members"]:
        assert member["n"] == 2 and [r["seed"] for r in member["runs"]] == [0, 1]
        assert member["top1"]["low"] <= member["top1"]["mean"] <= member["top1"]["high"]
        # params and MAdds of the network trained (the run's spec file), at the trained size, with the data's classes
        spec = NetworkSpec.load(_recipe(out / member["run"] / "seed0")["model"]["name"])
        assert spec.input_size == (3, 16, 16)
        counted = profile_spec(spec.replace(num_classes=2), (3, 16, 16))
        assert (member["params"], member["madds"]) == (counted.params, counted.madds)
    # one recipe for every run: only the model, the seed and the directory differ
    recipes = [_recipe(out / "runs" / m / f"seed{s}") for m in ("tiny_mux", "tiny_ir") for s in (0, 1)]
    for recipe in recipes:
        assert recipe["schedule"]["epochs"] == 1 and recipe["data"]["dataset"] == "imagefolder"
        for key in ("model", "training", "output"):
            recipe[key] = {k: v for k, v in recipe[key].items() if k not in ("name", "seed", "dir")}
    assert all(recipe == recipes[0] for recipe in recipes)
    assert [r["training"]["seed"] for r in map(_recipe, sorted((out / "runs" / "tiny_ir").iterdir()))] == [0, 1]
    verdict = summary["verdicts"][0]
    assert verdict["text"].startswith("multiplexed vs plain: ") and "95% interval" in verdict["text"]
    table = format_table(summary)
    assert "tiny_mux" in table and "tiny_ir" in table and "verdicts" in table


def test_members_that_are_one_network_share_their_runs(tmp_path, folder):
    figure = tiny_figure(tmp_path / "specs")
    mux = figure.lines[0].members[0]
    twin = Figure("twins", "the same network twice", (Line("a", (mux,)), Line("b", (Member("again", mux.model, "x"),))))
    trained = []

    def train(recipe, resume, log):
        trained.append(recipe["output"]["dir"])
        from muxnet.train import train as real
        return real(recipe, resume=resume, log=log)

    summary = run_ablation(_config(tmp_path / "sweep", folder), figure=twin, log=quiet, train=train)
    assert len(trained) == 2 and summary["runs_total"] == 2
    assert summary["members"][0]["runs"] == summary["members"][1]["runs"]


def test_two_kernel_groups_are_one_network_under_either_partition():
    """MixConv {3, 5} halves an even width under either partition, so the kernel sweep's exponential {3..5} point
    is its equal {3..5} point and trains once; from three groups on the partitions differ."""
    def key(name: str, size: int = 32) -> str:
        return network_key(for_input_size(resolve_spec(name)[0], size), size)

    assert key("mobilenetv2_mixconv_exp_k3to5") == key("mobilenetv2_mixconv_k3to5")
    assert key("mobilenetv2_mixconv_exp_k3to7") != key("mobilenetv2_mixconv_k3to7")
    assert key("mobilenetv2_mixconv_k3to5") != key("mobilenetv2_vanilla_k5")
    assert key("mobilenetv2_mixconv_k3to5") != key("mobilenetv2_mixconv_k3to5", 28)
    # the same seed builds the same weights, so one run stands for both members exactly
    nets = []
    for name in ("mobilenetv2_mixconv_k3to5", "mobilenetv2_mixconv_exp_k3to5"):
        torch.manual_seed(0)
        nets.append(build_model(for_input_size(resolve_spec(name)[0], 32)).state_dict())
    assert nets[0].keys() == nets[1].keys() and all(torch.equal(nets[0][k], nets[1][k]) for k in nets[0])
    # an odd width splits unequally under the exponential partition: those are two networks
    odd = TINY_SPEC.replace(stem_channels=7, stages=((BlockSpec("ir", 8, kernel_size=(3, 5), expand_ratio=3),),))
    odd_exp = odd.replace(stages=((BlockSpec("ir", 8, kernel_size=(3, 5), expand_ratio=3, partition="exponential"),),))
    assert network_key(odd, 16) != network_key(odd_exp, 16)


def test_an_existing_sweep_is_refused_and_a_finished_one_resumes_without_training(tmp_path, folder):
    out, figure = tmp_path / "sweep", tiny_figure(tmp_path / "specs")
    first = run_ablation(_config(out, folder, seeds=1), figure=figure, log=quiet)
    with pytest.raises(AblationError, match="already holds an ablation"):
        run_ablation(_config(out, folder, seeds=1), figure=figure, log=quiet)

    def refuse(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    again = run_ablation(AblationConfig(output=str(out)), resume=True, figure=figure, log=quiet, train=refuse)
    assert [m["runs"] for m in again["members"]] == [m["runs"] for m in first["members"]]
    with pytest.raises(AblationError, match="cannot change"):
        run_ablation(AblationConfig(output=str(out), overrides=["schedule.epochs=3"]), resume=True, figure=figure)
    with pytest.raises(AblationError, match="seeds start at 0"):
        run_ablation(AblationConfig(output=str(out), seed=5), resume=True, figure=figure)

    trained = []

    def train(recipe, resume, log):
        trained.append((Path(recipe["output"]["dir"]).name, resume))
        from muxnet.train import train as real
        return real(recipe, resume=resume, log=log)

    more = run_ablation(AblationConfig(output=str(out), seeds=2), resume=True, figure=figure, log=quiet, train=train)
    assert trained == [("seed1", False), ("seed1", False)] and more["seeds"] == [0, 1] and more["complete"]
    assert [m["runs"][0] for m in more["members"]] == [m["runs"][0] for m in first["members"]]


def test_runs_kept_only_in_the_summary_are_neither_retrained_nor_dropped(tmp_path, folder):
    out, figure = tmp_path / "sweep", tiny_figure(tmp_path / "specs")
    first = run_ablation(_config(out, folder, seeds=1), figure=figure, log=quiet)
    shutil.rmtree(out / "runs")  # a record keeps the summary, not the run directories with their checkpoints
    trained = []

    def train(recipe, resume, log):
        trained.append((Path(recipe["output"]["dir"]).parent.name, Path(recipe["output"]["dir"]).name))
        from muxnet.train import train as real
        return real(recipe, resume=resume, log=log)

    more = run_ablation(AblationConfig(output=str(out), seeds=2), resume=True, figure=figure, log=quiet, train=train)
    assert sorted(trained) == [("tiny_ir", "seed1"), ("tiny_mux", "seed1")]
    assert more["complete"] and [m["n"] for m in more["members"]] == [2, 2]
    assert [m["runs"][0] for m in more["members"]] == [m["runs"][0] for m in first["members"]]
    (out / "summary.json").write_text("{not json")
    with pytest.raises(AblationError, match="not an ablation summary"):
        run_ablation(AblationConfig(output=str(out)), resume=True, figure=figure, log=quiet)


def test_members_trains_part_of_a_figure_and_a_resume_the_rest(tmp_path, folder):
    out, figure = tmp_path / "sweep", tiny_figure(tmp_path / "specs")
    trained = []

    def train(recipe, resume, log):
        trained.append(Path(recipe["output"]["dir"]).parent.name)
        from muxnet.train import train as real
        return real(recipe, resume=resume, log=log)

    config = _config(out, folder, seeds=2)
    config.members = ["*_ir"]
    part = run_ablation(config, figure=figure, log=quiet, train=train)
    assert trained == ["tiny_ir", "tiny_ir"] and (part["runs_done"], part["complete"]) == (2, False)
    assert "pending" in format_table(part)  # the claim needs tiny_mux, which has not run
    plan = json.loads((out / "ablation.json").read_text())
    assert [m["name"] for m in plan["members"]] == ["tiny_mux", "tiny_ir"]  # the plan keeps the whole figure
    trained.clear()
    rest = run_ablation(AblationConfig(output=str(out)), resume=True, figure=figure, log=quiet, train=train)
    assert trained == ["tiny_mux", "tiny_mux"] and rest["complete"]
    assert rest["verdicts"][0]["text"].startswith("multiplexed vs plain: ")


def test_members_matching_nothing_fails_before_any_training(tmp_path, folder):
    def refuse(*args, **kwargs):
        raise AssertionError("a run was trained")

    config = _config(tmp_path / "sweep", folder)
    config.members = ["tiny_*", "mobilenet*"]
    with pytest.raises(AblationError, match=r"--members mobilenet\* matches no member of 'tiny'; its members: "
                                            "tiny_mux, tiny_ir"):
        run_ablation(config, figure=tiny_figure(tmp_path / "specs"), log=quiet, train=refuse)


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from ablation.figures import TINY_RUN, tiny_figure
from muxnet.ablation import AblationConfig, run_ablation

def slow(line):  # an epoch's line comes after its last.pt: the second run waits there, to be killed mid-run
    if "tiny_ir seed 0] epoch 1," in line:
        time.sleep(5)

out, data = Path(sys.argv[1]), sys.argv[2]
config = AblationConfig(output=str(out), seeds=2, data=data, overrides=[*TINY_RUN, "schedule.epochs=2"])
run_ablation(config, figure=tiny_figure(out.parent / "specs"), log=slow)
"""


def _scores(summary: dict) -> list:
    return [[{k: r[k] for k in ("seed", "top1", "val_top1", "epochs")} for r in m["runs"]] for m in summary["members"]]


def _losses(out: Path) -> dict:
    return {str(p.parent.relative_to(out)): [json.loads(line)["train_loss"] for line in p.read_text().splitlines()]
            for p in sorted(out.glob("runs/*/seed*/metrics.jsonl"))}


def test_kill_9_mid_sweep_then_resume_gives_the_uninterrupted_result(tmp_path, folder):
    overrides = [*TINY_RUN, "schedule.epochs=2"]
    reference = tmp_path / "reference"
    expected = run_ablation(_config(reference, folder, overrides=overrides), figure=tiny_figure(tmp_path / "specs"),
                            log=quiet)

    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(out), str(folder)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # kill when the second run has finished its first epoch: the first run is done, the second half-way
    wait_for(lambda: (out / "runs/tiny_ir/seed0/last.pt").is_file() or proc.poll() is not None, 120,
             "the second run's first epoch")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (out / "runs/tiny_mux/seed0/summary.json").is_file()
    assert not (out / "runs/tiny_ir/seed0/summary.json").is_file(), "the kill must land mid-sweep"
    finished = (out / "runs/tiny_mux/seed0/summary.json").stat().st_mtime_ns

    trained = []

    def train(recipe, resume, log):
        trained.append((Path(recipe["output"]["dir"]).relative_to(out.resolve()).as_posix(), resume))
        from muxnet.train import train as real
        return real(recipe, resume=resume, log=log)

    resumed = run_ablation(AblationConfig(output=str(out)), resume=True, figure=tiny_figure(tmp_path / "specs"),
                           log=quiet, train=train)
    assert trained == [("runs/tiny_ir/seed0", True), ("runs/tiny_mux/seed1", False), ("runs/tiny_ir/seed1", False)]
    assert (out / "runs/tiny_mux/seed0/summary.json").stat().st_mtime_ns == finished
    assert _scores(resumed) == _scores(expected) and resumed["complete"]
    assert _losses(out) == _losses(reference)  # bit-exact training, the killed run included
    for run in ("runs/tiny_ir/seed0", "runs/tiny_mux/seed1"):
        assert (out / run / "last.safetensors").read_bytes() == (reference / run / "last.safetensors").read_bytes()


def _pool_workers(pid: int) -> list[int]:
    """The worker processes of a process pool below ``pid`` (spawned: ``spawn_main`` in their command line)."""
    found = []
    for child in descendants(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:  # it has just exited
            pass
    return found


POOL_KILL_SCRIPT = """
import sys
from pathlib import Path
from ablation.figures import TINY_RUN, tiny_figure
from muxnet.ablation import AblationConfig, run_ablation

out, data = Path(sys.argv[1]), sys.argv[2]
config = AblationConfig(output=str(out), seeds=2, data=data, overrides=[*TINY_RUN, "schedule.epochs=2"], workers=2)
run_ablation(config, figure=tiny_figure(out.parent / "specs"), log=lambda line: None)
"""


@needs_proc
def test_workers_die_with_a_killed_sweep_which_resumes_to_the_numbers_of_one_run_at_a_time(tmp_path, folder):
    figure = tiny_figure(tmp_path / "specs")
    reference = tmp_path / "reference"
    expected = run_ablation(_config(reference, folder, overrides=[*TINY_RUN, "schedule.epochs=2"]), figure=figure,
                            log=quiet)

    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", POOL_KILL_SCRIPT, str(out), str(folder)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def two_workers_under_way():
        assert proc.poll() is None, "the sweep ended before it could be killed"
        workers = _pool_workers(proc.pid)
        return workers if len(workers) == 2 and any(out.glob("runs/*/seed*/last.pt")) else None

    workers = wait_for(two_workers_under_way, 120, "two workers, one run past its first epoch")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert survivors(workers, 10) == [], "a worker outlived the killed sweep"
    assert len(list(out.glob("runs/*/seed*/summary.json"))) < 4, "the kill must land mid-sweep"

    lines = []
    config = AblationConfig(output=str(out), workers=2)
    resumed = run_ablation(config, resume=True, figure=figure, log=lines.append)
    assert any(line.endswith("at a time (one process and one thread each)") for line in lines), lines
    assert _scores(resumed) == _scores(expected) and resumed["complete"]  # one thread each: the same numbers
    assert _losses(out) == _losses(reference)
    wait_for(lambda: not _pool_workers(os.getpid()), 30, "the pool's workers to exit")
    with pytest.raises(AblationError, match="--workers must be at least 1, got 0"):
        run_ablation(AblationConfig(output=str(tmp_path / "none"), workers=0), figure=figure, log=quiet)


def test_the_last_run_of_a_sweep_with_workers_still_trains_on_one_thread(tmp_path, folder):
    # one run to train and two workers: it goes to a one-thread worker as it would beside another run, not to
    # this process's default threads, so a resumed sweep's last run is trained like every run before it
    out = tmp_path / "sweep"
    config = AblationConfig(output=str(out), seeds=1, data=str(folder), members=["*_ir"], workers=2,
                            overrides=[item for item in TINY_RUN if not item.startswith("training.threads")])
    lines = []
    run_ablation(config, figure=tiny_figure(tmp_path / "specs"), log=lines.append)
    assert "1 runs, 1 at a time (one process and one thread each)" in lines, lines
    assert _recipe(out / "runs" / "tiny_ir" / "seed0")["training"]["threads"] == 1


def test_every_claim_names_members_of_its_figure():
    for figure in FIGURES.values():
        names = {m.name for m in figure.members} | {line.name for line in figure.lines}
        for claim in figure.claims:
            for side in (claim.a, claim.b):
                assert set(side if isinstance(side, tuple) else (side,)) <= names, (figure.name, claim.text)


def test_fig8b_resolution_points_are_the_papers_fractions_of_the_data_size():
    resolution = next(line for line in get_figure("fig8b").lines if line.name == "resolution r")
    assert [m.image_size(224) for m in resolution.members] == [224, 192, 160]
    assert [m.image_size(32) for m in resolution.members] == [32, 28, 24]
    assert {m.model for m in resolution.members} == {"mobilenetv2_baseline_100"}


def test_the_default_task_is_the_one_muxnet_train_uses_without_arguments():
    from muxnet.ablation.sweep import shared_recipe
    from muxnet.train import build_recipe

    default = build_recipe()
    ours = shared_recipe(AblationConfig(figure="fig8a"))
    assert (ours["recipe"], ours["data"]) == (default["recipe"], default["data"])
    assert ours["optimizer"] == default["optimizer"] and ours["schedule"] == default["schedule"]
