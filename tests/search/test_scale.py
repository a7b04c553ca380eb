"""The search at scale without a cluster: the workers' device (a GPU that is not there falls back to the CPU),
one GPU per pool worker, and proxy data that travels as a description and is read from a memory-mapped uint8
cache."""

import pickle

import numpy as np
import pytest
import torch

from data.makers import make_flat_folder, make_image_folder
from muxnet.data import load_tensors
from muxnet.data.proxy import CachedImages, ProxyData, _augment
from muxnet.search import executors
from muxnet.search.evaluators import EvalTask, ProxyTrainingEvaluator, check_device, run_task, worker_device
from muxnet.search.space import SearchSpace, genome_key

CFG = {"input_size": (3, 16, 16), "interpolation": "bicubic", "crop_pct": 0.875, "crop_mode": "center",
       "mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)}


def _task(seed=0):
    space = SearchSpace("small")
    genome = space.extreme_genomes()[0]
    return EvalTask(genome_key(genome), space.decode(genome).to_dict(), 1, 1, seed)


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_device_settings_are_checked_before_anything_runs():
    assert [check_device(d) for d in (None, "AUTO", "cpu", "cuda", "cuda:1")] == ["auto", "auto", "cpu", "cuda",
                                                                                  "cuda:1"]
    for bad in ("gpu", "cuda:x", "cpu:0", "mps"):
        with pytest.raises(ValueError, match="expected auto, cpu, cuda or cuda:N"):
            check_device(bad)


def test_a_gpu_the_worker_does_not_have_falls_back_to_the_cpu(no_cuda, monkeypatch):
    assert [worker_device(d).type for d in ("auto", "cuda", "cuda:2", "cpu")] == ["cpu"] * 4
    # a node declaring one GPU (Ray sets CUDA_VISIBLE_DEVICES=0) whose CUDA sees it: index 0 only
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert worker_device("auto") == torch.device("cuda", 0) and worker_device("cuda:0") == torch.device("cuda", 0)
    assert worker_device("cuda:1") == torch.device("cpu")


def test_an_evaluator_asked_for_cuda_trains_on_the_cpu_where_there_is_none(no_cuda):
    data = ProxyData.create("digits", None, 16, max_train_samples=64)
    evaluator = ProxyTrainingEvaluator(data, epochs=1, batch_size=32, device="cuda")
    result = run_task(evaluator, _task())
    assert result.status == "ok" and 0.0 <= result.error <= 1.0, result.message
    # the same candidate on the CPU asked for by name: the same error (nothing else differs)
    same = run_task(ProxyTrainingEvaluator(data, epochs=1, batch_size=32, device="cpu"), _task())
    assert same.error == result.error


def test_channels_last_steps_match_the_default_layout():
    """The CUDA path's channels-last tensors go through the same epoch function and reach the same weights."""
    from muxnet.models.network import build_model
    from muxnet.train import train_and_evaluate

    data = load_tensors(None, 16, seed=0, max_train_samples=64)
    spec = SearchSpace("small").decode(SearchSpace("small").extreme_genomes()[0])
    errors = []
    for channels_last in (False, True):
        torch.manual_seed(0)
        errors.append(train_and_evaluate(build_model(spec), data.train, data.val, epochs=1, seed=0, device="cpu",
                                         channels_last=channels_last))
    assert abs(errors[0] - errors[1]) < 0.02  # float rounding in another memory order, nothing more


def test_each_pool_worker_takes_its_own_gpu(monkeypatch):
    chosen = []
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    monkeypatch.setattr(executors, "die_with_parent", lambda pid: None)
    threads = torch.get_num_threads()
    slot = __import__("multiprocessing").get_context("spawn").Value("i", 0)
    try:
        for _ in range(5):
            executors._init_worker(None, threads, 0, slot, gpus=3)
        executors._init_worker(None, threads, 0, None, gpus=0)  # no GPUs: nothing chosen
    finally:
        torch.set_num_threads(threads)
    assert chosen == [0, 1, 2, 0, 1]


@pytest.mark.parametrize("layout", ["split", "flat"])
def test_the_cache_holds_what_the_in_memory_path_reads(tmp_path, layout):
    make = make_image_folder if layout == "split" else make_flat_folder
    root = make(tmp_path / layout, corrupt=False)
    data = ProxyData.create("imagefolder", root, 16, CFG, cache_dir=str(tmp_path / "cache"))
    meta = data.prepare()
    assert meta["num_classes"] == 2 and meta["cache"].startswith(str(tmp_path / "cache" / "proxy"))
    cached, memory = data.load(), load_tensors(root, 16, seed=0, data_config=CFG)
    assert isinstance(cached.train, CachedImages) and len(cached.train) == len(memory.train)
    for split in ("train", "val"):
        got = torch.stack([x for x, _ in getattr(cached, split).__getitems__(range(len(getattr(cached, split))))])
        want, labels = getattr(memory, split).tensors
        assert torch.equal(getattr(cached, split).labels, labels)
        # uint8 rounding of the same resize (1/255 of the range, /std 0.25): nothing else differs
        assert (got - want).abs().max() < 0.1 and (got - want).abs().mean() < 0.02
    # a worker is sent the description, a few hundred bytes, never the pixels
    evaluator = ProxyTrainingEvaluator(data, epochs=1)
    assert len(pickle.dumps(evaluator)) < 2_000 and len(pickle.dumps(cached.train)) < 2_000


def test_the_cache_is_written_once_per_size_and_subset(tmp_path):
    root = make_flat_folder(tmp_path / "flat", per_class=10)
    cache = str(tmp_path / "cache")
    first = ProxyData.create("imagefolder", root, 16, CFG, cache_dir=cache)
    path = first.cache_path()
    first.prepare()
    stamp = (path / "train.u8").stat().st_mtime_ns
    first.prepare()
    ProxyData.create("imagefolder", root, 16, CFG, cache_dir=cache, train_transform="resize_flip").prepare()
    assert (path / "train.u8").stat().st_mtime_ns == stamp  # the augmentation does not change the cache
    others = [ProxyData.create("imagefolder", root, 12, CFG, cache_dir=cache),
              ProxyData.create("imagefolder", root, 16, CFG, cache_dir=cache, max_train_samples=5)]
    assert len({path, *(o.cache_path() for o in others)}) == 3
    assert others[1].prepare()["train"] == 5


def test_bad_images_are_listed_in_the_run_or_stop_the_search(tmp_path):
    from muxnet.data import BadImageError

    root = make_flat_folder(tmp_path / "flat", corrupt=True)
    with pytest.raises(BadImageError, match="broken.png"):
        ProxyData.create("imagefolder", root, 16, CFG, cache_dir=str(tmp_path / "c")).prepare()
    data = ProxyData.create("imagefolder", root, 16, CFG, cache_dir=str(tmp_path / "c"), skip_bad_images=True)
    for run in ("run1", "run2"):  # the second run finds the cache written and still lists the image
        meta = data.prepare(tmp_path / run)
        assert "broken.png" in (tmp_path / run / "bad_images.txt").read_text()
    assert meta["train"] + meta["val"] == 16


def test_the_augmentations_act_on_uint8_batches():
    torch.manual_seed(0)
    batch = torch.arange(2 * 3 * 4 * 4, dtype=torch.uint8).view(2, 3, 4, 4).repeat(50, 1, 1, 1)
    assert torch.equal(_augment(batch.clone(), "none"), batch)
    flipped = _augment(batch.clone(), "resize_flip")
    is_flipped = [torch.equal(f, b.flip(-1)) for f, b in zip(flipped, batch)]
    assert all(f or torch.equal(a, b) for f, a, b in zip(is_flipped, flipped, batch)) and 30 < sum(is_flipped) < 70
    crops = _augment(batch.clone(), "inception")
    assert crops.shape == batch.shape and crops.dtype == torch.uint8 and not torch.equal(crops, batch)
    assert np.isfinite(crops.float().numpy()).all()


def _search_args(*argv):
    import argparse

    from muxnet.search.cli import add_search_arguments

    parser = argparse.ArgumentParser()
    add_search_arguments(parser)
    return parser.parse_args(list(argv))


def test_the_paper_protocol_sets_the_papers_search_and_flags_override_it(tmp_path):
    from muxnet.search.cli import _config

    config = _config(_search_args("--protocol", "paper", "--data", str(tmp_path)))
    assert (config.preset, config.population, config.generations, config.epochs, config.max_train_samples,
            config.scalarization, config.budget) == ("imagenet224", 40, 100, 5, 50_000, "pbi", 4040)
    assert len(config.targets.split(";")) == 4
    assert _config(_search_args("--protocol", "paper", "--data", str(tmp_path), "--epochs", "3")).epochs == 3
    with pytest.raises(ValueError, match="--protocol paper: give --data DIR"):
        _config(_search_args("--protocol", "paper"))
    # an estimate needs no data: the configuration keeps the embedded default, which the dry run does not read
    assert _config(_search_args("--protocol", "paper", "--dry-run")).dataset == "cluttered"


def test_the_papers_targets_are_reachable_in_its_space():
    from muxnet.search.decomposition import parse_targets
    from muxnet.search.driver.protocol import PAPER_TARGETS
    from muxnet.search.driver.search_run import _check_reachable
    from muxnet.search.objectives import MADDS, PARAMS, ComplexityCache, Normaliser
    from muxnet.search.sampling import TargetedSampler

    space = SearchSpace("imagenet224")
    complexity = ComplexityCache(space, [PARAMS, MADDS])
    normaliser = Normaliser.for_space(space, complexity)
    sampler = TargetedSampler(space, complexity, normaliser.low, normaliser.span)
    _check_reachable(sampler, parse_targets(PAPER_TARGETS, ["error", "params", "madds"]), 0.2)


def test_a_dry_run_scales_one_timed_step_to_the_search(no_cuda, monkeypatch):
    from muxnet.search.driver import SearchConfig, protocol

    monkeypatch.setattr(protocol, "time_training_step", lambda spec, batch, device, threads: (0.5, 0.1, "cpu"))
    config = SearchConfig(population=6, generations=2, epochs=3, max_train_samples=640)
    data = ProxyData.create("digits", None, 32, max_train_samples=640)
    e = protocol.estimate_cost(config, data, executor="process", workers=4)
    assert (e["candidates"], e["train_images"], e["val_images"], e["workers"]) == (18, 640, 270, 4)
    assert e["steps"] == 640 // 32 * 3 and e["eval_batches"] == 5
    assert e["candidate_seconds"] == pytest.approx(60 * 0.5 + 5 * 0.1)
    assert e["wall_seconds"] == pytest.approx(3 * 2 * e["candidate_seconds"])  # 3 generations of 2 rounds of 4
    assert e["gpu_hours"] == 0
    text = protocol.format_estimate(e, "test")
    assert "18 at most" in text and "30.5 s" in text and "workers         4" in text


def test_the_timed_step_runs_on_the_device_a_worker_would_pick(no_cuda):
    from muxnet.search.driver.protocol import time_training_step

    spec = SearchSpace("small").decode(SearchSpace("small").extreme_genomes()[0])
    threads = torch.get_num_threads()
    try:
        step, evaluation, device = time_training_step(spec, 4, "cuda", threads=1, steps=1)
    finally:
        torch.set_num_threads(threads)
    assert device == "cpu" and step > 0 and evaluation > 0
