"""The fused spatial-multiplexing kernel: exact against its PyTorch reference, and the fallback without a compiler.

The kernel is compiled once per machine into the user cache (about a second), so these tests stay fast.
"""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
from torch import nn

import muxnet
from muxnet.deploy import FusedSpatialMultiplexing, deploy, kernel_available
from muxnet.deploy import kernel as kernel_module
from muxnet.layers import SpatialMultiplexConv
from test_deploy import max_error, randomise_batchnorm

needs_kernel = pytest.mark.skipif(not kernel_available(), reason="no C compiler for the fused kernel")

# (channels, kernel, G, scales): every part kind, G = 1, 2, 4, k = 3, 5, 7
LAYERS = [(120, 3, 1, (-1, 0, 0)), (120, 3, 2, (-1, 0, 0, 1)), (120, 5, 1, (1, 0, 1)), (120, 5, 1, (0, 0, 1)),
          (96, 5, 2, (-1, 0, 1)), (64, 3, 4, (-1, 1)), (32, 7, 1, (-1, 0, 1))]


def deployed_layer(channels, kernel, group_factor, scales, dtype=torch.float64):
    layer = nn.Sequential(SpatialMultiplexConv(channels, kernel, group_factor, scales), nn.BatchNorm2d(channels))
    layer = randomise_batchnorm(layer).to(dtype).eval()
    return layer, deploy(layer)


@needs_kernel
@pytest.mark.parametrize("config", LAYERS)
def test_fused_layer_is_exact(config):
    layer, deployed = deployed_layer(*config)
    assert isinstance(deployed[0], FusedSpatialMultiplexing)
    for batch, height, width in ((1, 28, 28), (2, 6, 10), (1, 2, 2)):  # non-square, and smaller than the taps
        x = torch.randn(batch, config[0], height, width, dtype=torch.float64)
        assert max_error(layer, deployed, x) < 1e-10
    layer32, deployed32 = layer.float(), deploy(layer.float())
    x = torch.randn(1, config[0], 14, 14)
    with torch.no_grad():
        ref = layer32(x)
        assert (deployed32(x) - ref).abs().max() <= 1e-5 * max(1.0, ref.abs().max().item())


@needs_kernel
def test_fused_layer_is_exact_with_two_threads():
    layer, deployed = deployed_layer(96, 5, 2, (-1, 0, 1))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # OpenMP over channels, one accumulator per thread
    try:
        x = torch.randn(3, 96, 14, 14, dtype=torch.float64)
        assert max_error(layer, deployed, x) < 1e-10
    finally:
        torch.set_num_threads(threads)


@needs_kernel
def test_fused_layer_takes_odd_sizes_without_subpixel_part_and_refuses_them_with_one():
    layer, deployed = deployed_layer(40, 5, 1, (0, 0, 1))
    x = torch.randn(1, 40, 7, 9, dtype=torch.float64)
    assert max_error(layer, deployed, x) < 1e-10
    _, with_subpixel = deployed_layer(48, 3, 1, (-1, 0, 0))
    with pytest.raises(ValueError, match="even height and width"):
        with_subpixel(torch.randn(1, 48, 7, 8, dtype=torch.float64))


@needs_kernel
@pytest.mark.parametrize("name", ["muxnet_xs", "muxnet_s"])
def test_deployed_spatial_multiplexing_models_use_the_kernel(name):
    model = randomise_batchnorm(muxnet.create_model(name, num_classes=5)).double().eval()
    deployed = deploy(model)
    assert any(isinstance(m, FusedSpatialMultiplexing) for m in deployed.modules())
    for size in (64, 96):
        x = torch.randn(2, 3, size, size, dtype=torch.float64)
        assert max_error(model, deployed, x) < 1e-10


@needs_kernel
def test_a_used_fused_layer_can_be_copied_and_deployed_again():
    layer, deployed = deployed_layer(64, 3, 2, (-1, 0, 0, 1))
    x = torch.randn(1, 64, 8, 8, dtype=torch.float64)
    deployed(x)  # caches the tap tables' addresses
    again = deploy(deployed)  # a deep copy; nothing is fused twice
    assert sum(isinstance(m, FusedSpatialMultiplexing) for m in again.modules()) == 1
    assert max_error(layer, again, x) < 1e-10
    assert max_error(deployed, copy.deepcopy(deployed), x) == 0


@needs_kernel
def test_tracing_sees_the_reference_and_matches():
    _, deployed = deployed_layer(64, 3, 2, (-1, 0, 0, 1), dtype=torch.float32)
    x = torch.randn(1, 64, 8, 8)
    traced = torch.jit.trace(deployed, x)
    assert "aten::_convolution" in traced.inlined_graph.str()  # the kernel's output would be a constant
    y = torch.randn(1, 64, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(traced(y), deployed(y), rtol=1e-5, atol=1e-5)


def test_without_a_compiler_it_warns_once_and_runs_the_reference(monkeypatch, tmp_path):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    kernel_module.load_kernel.cache_clear()
    try:
        layer, deployed = deployed_layer(120, 3, 2, (-1, 0, 0, 1))
        x = torch.randn(1, 120, 8, 8, dtype=torch.float64)
        with pytest.warns(RuntimeWarning, match="kernel is unavailable"):
            assert max_error(layer, deployed, x) < 1e-10
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the second call does not warn again
            deployed(x)
        assert not kernel_available()
    finally:
        kernel_module.load_kernel.cache_clear()


def test_the_kernel_can_be_switched_off(monkeypatch):
    monkeypatch.setenv(kernel_module.DISABLE_ENV, "1")
    kernel_module.load_kernel.cache_clear()
    try:
        assert not kernel_available()
        layer, deployed = deployed_layer(120, 5, 1, (1, 0, 1))
        x = torch.randn(1, 120, 8, 8, dtype=torch.float64)
        assert max_error(layer, deployed, x) < 1e-10
    finally:
        kernel_module.load_kernel.cache_clear()
