"""muxnet.deploy.latency_benchmark on tiny modules: every path runs, the table and the chart come out, nothing is
overwritten."""

from __future__ import annotations

import pytest
from torch import nn

from muxnet.cli import main
from muxnet.deploy.latency_benchmark import (
    Measurement,
    benchmark,
    best_paths,
    category_times,
    format_op_times,
    format_table,
    onnxruntime_op_times,
    op_category,
    plot,
)
from muxnet.layers import SpatialMultiplexConv


def test_benchmark_times_every_path_and_writes_a_chart(tmp_path):
    pytest.importorskip("onnxruntime")
    modules = {"depthwise": nn.Conv2d(32, 32, 3, padding=1, groups=32),
               "spatial mux": SpatialMultiplexConv(32, 3, 2, (-1, 0, 0, 1))}
    results = benchmark(modules, ("eager", "deploy", "onnxruntime"), input_size=(32, 8, 8), repeats=3, warmup=1)
    assert {(m.model, m.path) for m in results} == {(n, p) for n in modules for p in ("eager", "deploy",
                                                                                         "onnxruntime")}
    assert all(len(m.samples_ms) == 3 and m.median > 0 for m in results)
    table = format_table(results, baseline="depthwise")
    assert "vs depthwise" in table and "best path per model" in table and "1.00x" in table
    chart = plot(results, tmp_path / "chart.png")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_best_paths_and_ratios():
    results = [Measurement("a", "eager", [2.0, 2.0]), Measurement("a", "onnxruntime", [1.0, 1.0]),
               Measurement("b", "eager", [4.0, 4.0]), Measurement("b", "onnxruntime", [3.0, 3.0])]
    best = best_paths(results)
    assert best["a"].path == "onnxruntime" and best["b"].median == 3.0
    table = format_table(results)
    assert "2.00x" in table and "3.00x" in table  # b/a on eager, and b's best over a's best


def test_unknown_path_is_refused():
    with pytest.raises(ValueError, match="unknown path"):
        benchmark({"conv": nn.Conv2d(2, 2, 1)}, ("tensorrt",), input_size=(2, 4, 4), repeats=1)


def test_benchmark_command_keeps_an_existing_chart(tmp_path, capsys):
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"old")
    assert main(["benchmark", "muxnet_xs", "--output", str(chart), "--repeats", "1"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert chart.read_bytes() == b"old"


def test_onnxruntime_op_times_splits_the_time_by_operator_and_category():
    pytest.importorskip("onnxruntime")
    model = nn.Sequential(nn.Conv2d(16, 32, 1), nn.SiLU(), nn.Conv2d(32, 32, 3, padding=1, groups=32),
                          nn.Conv2d(32, 16, 1))
    times = onnxruntime_op_times({"block": model}, input_size=(16, 12, 12), repeats=3, warmup=1)["block"]
    assert {"Conv 1x1", "Conv depthwise 3x3"} <= set(times)  # convs told apart by kernel and groups
    assert all(v >= 0 for v in times.values()) and sum(times.values()) > 0
    assert op_category("QuickGelu") == "activation" and op_category("Conv depthwise 3x3") == "convolution"
    assert op_category("ReorderInput") == "layout" and op_category("ReduceMean") == "squeeze-excite and residual"
    categories = category_times(times)
    assert categories["convolution"] > 0 and abs(sum(categories.values()) - sum(times.values())) < 1e-9
    table = format_op_times({"block": times})
    assert table.splitlines()[0].startswith("operator") and "total" in table and "convolution" in table


def test_benchmark_command_prints_the_time_per_operator(tmp_path, capsys, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.chdir(tmp_path)
    assert main(["benchmark", "muxnet_xs", "--ops", "--repeats", "1", "--input-size", "32"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("operator") and "muxnet_xs" in out and "Conv 1x1" in out and "layout" in out
    assert not list(tmp_path.iterdir())  # no chart: the operator table replaces the latency run
