"""After the search: retraining the picks with the full recipe (resumable, refused before any work when it could
not run), the target read as a budget, and the hand-designed baseline the picks are compared with."""

import json

import numpy as np
import pytest

from muxnet.profiling import count_spec
from muxnet.search.baselines import mobilenet_v2_at, mobilenet_v2_choices
from muxnet.search.driver import SearchConfig, run_search
from muxnet.search.driver.search_run import SearchSetupError
from muxnet.search.retrain import RetrainOptions
from muxnet.search.scalarization import TargetASF

TWO_TARGETS = "params=0.6M,madds=2M;params=1.5M,madds=5.5M"


def quiet(_line: str) -> None:
    pass


def test_search_then_retrain_reports_test_accuracy_and_resumes_without_retraining(tmp_path):
    config = SearchConfig(dataset="digits", population=4, generations=0, epochs=1, max_train_samples=64,
                          targets=TWO_TARGETS, top_k=2)
    retrain = RetrainOptions(top_k=1, seeds=2, workers=1, overrides=("schedule.epochs=1",))
    lines = []
    run_search(config, tmp_path / "run", retrain=retrain, log=lines.append)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    for entry in summary["best_per_target"]:
        first, second = entry["models"]
        assert "retrained" not in second  # top_k=1: only the rank-1 pick
        result = first["retrained"]
        assert len(result["test_top1"]) == 2 and all(0.0 <= v <= 100.0 for v in result["test_top1"])
        assert result["test_top1_low"] <= result["test_top1_mean"] <= result["test_top1_high"]
        assert result["recipe"] == "digits"
        for run in result["runs"]:
            run_summary = json.loads((tmp_path / "run" / run / "summary.json").read_text())
            assert run_summary["epochs"] == 1 and run_summary["dataset"] == "digits"
            assert run_summary["params"] == first["params"]
    assert sum("retrained: test top-1" in line for line in lines) == 2
    assert (tmp_path / "run" / "pareto.png").stat().st_size > 0
    # a finished search and finished retraining: resuming reads both back and trains nothing
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "run" / "retrain").glob("*/summary.json")}
    run_search(config, tmp_path / "run", resume=True, retrain=retrain, log=quiet)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    again = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert again["best_per_target"] == summary["best_per_target"]


def test_retraining_that_could_not_run_is_refused_before_the_search(tmp_path):
    synthetic = SearchConfig(evaluator="synthetic", population=4, generations=0, targets=TWO_TARGETS)
    with pytest.raises(SearchSetupError, match="--retrain: the picks of a search with --evaluator synthetic"):
        run_search(synthetic, tmp_path / "a", retrain=RetrainOptions(), log=quiet)
    config = SearchConfig(dataset="digits", population=4, generations=0, targets=TWO_TARGETS)
    with pytest.raises(ValueError, match="optimizer.lrr"):
        run_search(config, tmp_path / "b", retrain=RetrainOptions(overrides=("optimizer.lrr=0.1",)), log=quiet)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    with pytest.raises(ValueError, match="at least 1"):
        RetrainOptions(seeds=0)


def test_cli_retrain_flags_are_checked_before_work(tmp_path):
    from muxnet.cli import main

    out = tmp_path / "x"
    assert main(["search", "--retrain-seeds", "3", "--output", str(out)]) == 2  # needs --retrain
    assert main(["search", "--retrain", "--retrain-set", "nonsense", "--output", str(out)]) == 2
    assert main(["search", "--target-mode", "at-most", "--scalarization", "pbi", "--output", str(out)]) == 2
    assert not out.exists()


def test_at_most_reads_a_target_as_a_budget():
    """Same error, 30% fewer params than the target: 'near' penalises it, 'at most' does not; over the target
    both penalise alike."""
    low, span = (0.0, 0.4e6, 1.3e6), (1.0, 1.6e6, 7.3e6)

    def point(error, params, madds):
        return np.array([error, (params - low[1]) / span[1], (madds - low[2]) / span[2]])

    target = point(0.0, 1.0e6, 4.0e6)
    on_target, smaller, less_accurate_on_target = (point(0.1, 1.0e6, 4.0e6), point(0.1, 0.7e6, 4.0e6),
                                                   point(0.15, 1.0e6, 4.0e6))
    over = point(0.1, 1.3e6, 4.0e6)
    F = np.stack([on_target, smaller, less_accurate_on_target, over])
    near = TargetASF(low=low, span=span)(F, target, np.zeros(3))
    budget = TargetASF(low=low, span=span, at_most=True)(F, target, np.zeros(3))
    assert near[1] > near[2] > near[0]  # near: the smaller model loses even to a less accurate one on the target
    assert budget[1] == pytest.approx(budget[0]) and budget[1] < budget[2]
    assert budget[3] == pytest.approx(near[3]) and budget[3] > budget[0]


def test_target_mode_is_part_of_the_configuration():
    assert SearchConfig().target_mode == "near"
    with pytest.raises(ValueError, match="target_mode: choose one of near, at_most"):
        SearchConfig(target_mode="under")
    with pytest.raises(ValueError, match="is a setting of the 'asf' scalarization"):
        SearchConfig(target_mode="at_most", scalarization="pbi")


def test_mobilenet_v2_baseline_in_the_search_skeleton():
    spec = mobilenet_v2_choices("small", 1.0)
    blocks = [b for stage in spec.stages for b in stage][1:]  # after the first DS block
    assert all(b.kernel_size == 3 and b.expand_ratio == 6 and not b.scales for b in blocks)
    assert all(b.leave_out == 0 and b.group_factor == 1 for b in blocks if b.type == "mux")
    params = [count_spec(mobilenet_v2_choices("small", w))[0] for w in (0.5, 1.0, 1.4)]
    assert params[0] < params[1] < params[2]
    for target in (0.6e6, 1.0e6, 1.5e6):
        found = count_spec(mobilenet_v2_at(lambda s: count_spec(s)[0], target))[0]
        assert abs(found / target - 1) < 0.1
    with pytest.raises(ValueError, match="outside what widths"):
        mobilenet_v2_at(lambda s: count_spec(s)[0], 50e6)


def test_early_width_scales_only_the_stem_and_stage_1():
    from muxnet.search.baselines import scaled_skeleton

    assert scaled_skeleton("small", 1.0).widths == (16, 16, 32, 48, 64, 96, 128)
    narrow_early = scaled_skeleton("small", 1.0, early_width=0.5)
    assert narrow_early.widths == (8, 8, 32, 48, 64, 96, 128) and narrow_early.head_channels == 256
    assert scaled_skeleton("small", 0.5, early_width=1.0).widths == (16, 16, 16, 24, 32, 48, 64)
    spec = mobilenet_v2_choices("small", 1.0, early_width=0.5)
    assert spec.stem_channels == 8 and spec.metadata["early_width"] == 0.5
    assert spec.name != mobilenet_v2_choices("small", 1.0).name
    assert count_spec(spec)[0] < count_spec(mobilenet_v2_choices("small", 1.0))[0]
    with pytest.raises(ValueError, match="early_width must be positive"):
        scaled_skeleton("small", 1.0, early_width=0)


def test_training_records_keep_results_across_lost_run_directories(tmp_path):
    from muxnet.search.retrain import TrainingRecords, TrainJob, test_top1, train_jobs

    spec = mobilenet_v2_choices("small", 0.25)
    spec.save(tmp_path / "a.yaml")
    spec.save(tmp_path / "elsewhere.yaml")
    jobs = [TrainJob("a", str(tmp_path / "a.yaml"), seed, str(tmp_path / "runs" / f"a{seed}")) for seed in (0, 1)]
    overrides = ("schedule.epochs=1", "data.image_size=32")
    records = TrainingRecords(tmp_path / "records" / "trainings.jsonl")
    first = {job.seed: test_top1(s) for job, s in train_jobs(jobs, "digits", overrides=overrides, workers=1,
                                                             records=records)}
    assert len(records.path.read_text().splitlines()) == 2
    # each record keeps the run's test top-1 after every epoch, the last of which is the result
    kept = [json.loads(line)["summary"] for line in records.path.read_text().splitlines()]
    assert sorted(k["top1_by_epoch"][-1] for k in kept) == sorted(first.values())
    assert all(len(k["top1_by_epoch"]) == 1 for k in kept)
    # the run directories are gone (another machine); the records answer, nothing is trained
    moved = [TrainJob("a", str(tmp_path / "elsewhere.yaml"), j.seed, str(tmp_path / "new" / j.run_dir[-2:]))
             for j in jobs]
    again = {job.seed: test_top1(s) for job, s in train_jobs(moved, "digits", overrides=overrides, workers=1,
                                                             records=TrainingRecords(records.path))}
    assert again == first and not (tmp_path / "new").exists()
    # what decides the result is part of the fingerprint: the seed, any recipe change, the spec's text
    key = TrainingRecords.fingerprint(jobs[0], "digits", overrides=overrides)
    assert key != TrainingRecords.fingerprint(jobs[1], "digits", overrides=overrides)
    assert key != TrainingRecords.fingerprint(jobs[0], "digits", overrides=(*overrides, "optimizer.lr=0.01"))
    mobilenet_v2_choices("small", 0.5).save(tmp_path / "a.yaml")
    assert key != TrainingRecords.fingerprint(jobs[0], "digits", overrides=overrides)
    records.path.write_text('{"fingerprint": "x", "summary": {}}\n{"fingerprint": "y"}\n')
    with pytest.raises(ValueError, match=r"trainings.jsonl:2: not a training record"):
        TrainingRecords(records.path)


def test_the_searched_composition_reaches_the_proxy_and_the_full_recipe(tmp_path):
    """A search on the hard cluttered digits proxy-trains on them and retrains its picks on them."""
    import dataclasses

    import torch

    from muxnet.cli import main
    from muxnet.data import load_cluttered
    from muxnet.search.driver.search_run import proxy_data
    from muxnet.search.retrain import full_recipe
    from muxnet.search.space import SearchSpace
    from muxnet.train.recipes import build_recipe

    with pytest.raises(ValueError, match="difficulty: a setting of the embedded cluttered digits, not of 'digits'"):
        SearchConfig(dataset="digits", difficulty="hard")
    with pytest.raises(ValueError, match="difficulty: choose one of standard, hard"):
        SearchConfig(difficulty="extreme")
    assert main(["search", "--data", "digits", "--difficulty", "hard", "--output", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()

    config = SearchConfig(difficulty="hard", max_train_samples=32)
    space = SearchSpace(config.preset)
    hard = proxy_data(config, space).load().val.tensors[0]
    assert torch.equal(hard, load_cluttered(32, 0, params="hard").val.tensors[0])
    standard = proxy_data(dataclasses.replace(config, difficulty="standard"), space).load().val.tensors[0]
    assert (hard - standard).abs().mean() > 0.1

    recipe, data, overrides = full_recipe("cluttered", "hard")
    assert build_recipe(recipe, data, overrides=overrides)["data"]["difficulty"] == "hard"
    assert full_recipe("digits", "standard") == ("digits", None, [])
    assert full_recipe(str(tmp_path), "standard") == (None, str(tmp_path), [])


def test_a_setting_added_at_its_neutral_value_keeps_the_records_fingerprints(tmp_path, monkeypatch):
    """A record made before ``data.difficulty`` existed answers for the same training after it was added."""
    import muxnet.train.recipes as recipes
    from muxnet.search.retrain import TrainingRecords, TrainJob

    spec = tmp_path / "a.yaml"
    mobilenet_v2_choices("small", 0.25).save(spec)
    job = TrainJob("a", str(spec), 0, str(tmp_path / "run"))
    now = TrainingRecords.fingerprint(job, "cluttered", overrides=[("data.difficulty", "standard")])
    hard = TrainingRecords.fingerprint(job, "cluttered", overrides=[("data.difficulty", "hard")])
    per_epoch = TrainingRecords.fingerprint(job, "cluttered", overrides=[("data.train_renders", "per_epoch")])
    assert len({now, hard, per_epoch}) == 3
    build = recipes.build_recipe

    def before_the_settings(*args, **kwargs):
        recipe = build(*args, **kwargs)
        del recipe["data"]["difficulty"], recipe["data"]["train_renders"]
        return recipe

    monkeypatch.setattr(recipes, "build_recipe", before_the_settings)
    assert TrainingRecords.fingerprint(job, "cluttered") == now


def capacity_bench():
    """``benchmarks/bench_task_capacity.py`` as a module (the benchmarks are scripts, not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_task_capacity.py"
    spec = importlib.util.spec_from_file_location("bench_task_capacity", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_separation_by_epoch_counts_pairs_of_one_seed_ordered_by_width():
    separation_by_epoch = capacity_bench().separation_by_epoch
    # three widths, narrowest first; seed 2 is missing at the widest width and is left out; epoch 3 is past
    # the shortest run and is skipped
    narrow = {0: [10.0, 40.0, 50.0], 1: [12.0, 30.0, 55.0], 2: [9.0, 9.0, 9.0]}
    middle = {0: [11.0, 35.0, 60.0], 1: [10.0, 45.0, 65.0], 2: [9.0, 9.0, 9.0]}
    wide = {0: [9.0, 50.0], 1: [13.0, 50.0]}
    rows = list(separation_by_epoch([narrow, middle, wide], [1, 2, 3]))
    # epoch 1: seed 0 orders only narrow<middle (10<11; wide 9 is behind both); seed 1 only narrow<wide and
    # middle<wide (12>10 breaks narrow<middle); epoch 2: seed 0 misses narrow<middle (40>35), seed 1 has all
    assert rows == [(1, [11.0, 10.5, 11.0], 3, 6), (2, [35.0, 40.0, 50.0], 5, 6)]


def test_capacity_widths_name_an_early_width_per_row_and_keep_their_order():
    parse_widths = capacity_bench().parse_widths
    assert parse_widths("0.5, 0.5/1,1.0/0.5,1") == [(0.5, None), (0.5, 1.0), (1.0, 0.5), (1.0, None)]
    # --early-width fills the rows that do not name their own
    assert parse_widths("1,0.5/1", early_width=0.5) == [(1.0, 0.5), (0.5, 1.0)]
    assert parse_widths("space-max,1") == ["space-max", (1.0, None)]
    for bad, message in [("1,x", "not a width"), ("1/y", "not a width"), ("1/", "not a width"),
                         ("space-mid", "not a width"), ("0", "positive"), ("1/0", "positive"), ("1,1.0", "twice")]:
        with pytest.raises(ValueError, match=message):
            parse_widths(bad)


@pytest.mark.slow
def test_the_capacity_bench_scores_a_run_on_its_training_digits_and_its_test_as_training_saw_them(tmp_path):
    """``--train-pool``: the test score is the run's own test split through its recipe's data, and the training
    digits' renders are ones no epoch of training drew."""
    import torch
    import yaml

    from muxnet.data import build_data
    from muxnet.data.cluttered import composition, render
    from muxnet.models import create_model
    from muxnet.models.checkpoint import save_weights
    from muxnet.train.recipes import load_recipe

    bench = capacity_bench()
    spec = tmp_path / "w0.35.yaml"
    bench.row_spec((0.35, None)).save(spec)
    run = tmp_path / "run"
    run.mkdir()
    recipe = load_recipe("cluttered", [("model.name", str(spec)), ("data.train_renders", "per_epoch"),
                                       ("data.difficulty", "hard")])
    (run / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    torch.manual_seed(0)
    model = create_model(str(spec), num_classes=10).eval()
    save_weights(model, run / "last.safetensors")

    pool, test = bench.train_pool_and_test(run, count=200)
    images, labels = build_data({**recipe["data"]}).test.tensors
    with torch.no_grad():
        expected = float((model(images).argmax(1) == labels).float().mean()) * 100
    assert test == pytest.approx(expected, abs=1e-6) and 0 <= pool <= 100
    hard = composition("hard")
    unseen = render("train", 200, 0, 32, params=hard, epoch=bench.UNSEEN_EPOCH)[0]
    for epoch in (0, 1, 30):
        assert not torch.equal(unseen, render("train", 200, 0, 32, params=hard, epoch=epoch)[0])
