"""Every model muxnet registers with timm keeps the contract timm's own models keep.

``import muxnet`` puts the MUXNets and the ablation families into timm's registry, so users and libraries (timm's
scripts, detection/segmentation frameworks taking ``features_only`` or ``forward_intermediates`` backbones) treat
them as timm models. These tests state that contract in our words, at small inputs so the whole zoo runs in
seconds: the registered data config; ``reset_classifier`` with and without pooling; ``forward_head`` with
``pre_logits``; ``features_only`` with its config, channels and reductions; ``forward_intermediates`` and
``prune_intermediate_layers``; backward through every parameter; TorchScript; FX tracing (and scripting it).
"""

import copy
import math

import pytest
import timm
import torch
import torch.fx
from timm.models import get_notrace_functions, get_notrace_modules

import muxnet  # noqa: F401  (registers the zoo with timm)

REGISTERED = sorted(n for n in timm.list_models() if timm.models.model_entrypoint(n).__module__.startswith("muxnet."))
MUXNETS = [n for n in REGISTERED if n.startswith("muxnet_")]
# With the MUXNets (DS, IR and MUXConv blocks, spatial multiplexing, equal MixConv) these hold every other layer
# of the ablation families (MobileNetV1's activated pointwise conv, ReLU6, dilated and exponential MixConv):
# the slow checks (backward, TorchScript, FX) run on them; a family's members differ only in widths and kernels.
SLOW_CHECKED = MUXNETS + ["mobilenetv1_mixconv_dilated_k3to5", "mobilenetv2_mixconv_exp_k3to5"]
SIZE = 32  # the smallest input every registered model takes: 1/32 of it is 1x1, spatially multiplexed maps even


def test_every_muxnet_is_registered():
    assert {"muxnet_xs", "muxnet_s", "muxnet_m", "muxnet_l", "muxnet_digits"} <= set(MUXNETS)
    assert set(REGISTERED) <= set(muxnet.list_models()) and set(SLOW_CHECKED) <= set(REGISTERED)


def _image(batch: int = 1) -> torch.Tensor:
    return torch.randn(batch, 3, SIZE, SIZE)


def _check_data_config(name: str, model: torch.nn.Module) -> None:
    # timm's test lists select on the registered config (name_matches_cfg); its scripts read it for the data
    assert name in timm.list_models(name, name_matches_cfg=True)
    cfg = model.pretrained_cfg
    assert model.default_cfg is cfg
    assert cfg["architecture"] == name
    assert len(cfg["input_size"]) == 3 and cfg["input_size"][0] == model.conv_stem.in_channels
    assert cfg["interpolation"] in ("bilinear", "bicubic") and 0 < cfg["crop_pct"] <= 1
    assert len(cfg["mean"]) == len(cfg["std"]) == cfg["input_size"][0]
    state = model.state_dict()
    assert f"{cfg['first_conv']}.weight" in state
    assert state[f"{cfg['classifier']}.weight"].shape == (cfg["num_classes"], model.num_features)
    assert cfg["num_classes"] == model.num_classes
    assert tuple(cfg["pool_size"]) == tuple(s // model.feature_info[-1]["reduction"] for s in cfg["input_size"][1:])
    data = timm.data.resolve_data_config(model=model)
    assert data["input_size"] == tuple(cfg["input_size"]) and data["mean"] == tuple(cfg["mean"])


def _check_head(model: torch.nn.Module, features: torch.Tensor) -> None:
    # forward is forward_head(forward_features(x)); the head is checked on features computed once, because the
    # large-kernel ablation models take most of a second per forward on a CPU
    reduction = model.feature_info[-1]["reduction"]
    assert features.shape == (1, model.num_features, SIZE // reduction, SIZE // reduction)
    pre_logits = model.forward_head(features, pre_logits=True)
    assert pre_logits.shape == (1, model.head_hidden_size)

    model.reset_classifier(0)  # classifier gone, pooling kept
    assert model.num_classes == 0
    torch.testing.assert_close(model.forward_head(features), pre_logits)

    model.reset_classifier(0, "")  # pooling gone too: the unpooled map, as forward_features gives it
    torch.testing.assert_close(model.forward_head(features), features)

    model.reset_classifier(5, "catavgmax")
    assert model.head_hidden_size == 2 * model.num_features and model.forward_head(features).shape == (1, 5)
    with pytest.raises(ValueError, match="num_classes must be 0"):
        model.reset_classifier(3, "")


def _check_intermediates(model: torch.nn.Module, x: torch.Tensor, features: torch.Tensor) -> None:
    info = model.feature_info
    final, intermediates = model.forward_intermediates(x)
    assert torch.equal(final, features)
    assert [tuple(t.shape[1:]) for t in intermediates] == [
        (f["num_chs"], SIZE // f["reduction"], SIZE // f["reduction"]) for f in info]

    early = model.forward_intermediates(x, indices=[0, -3], stop_early=True, intermediates_only=True)
    third = len(info) - 3
    assert torch.equal(early[0], intermediates[0]) and torch.equal(early[1], intermediates[third])

    kept = model.prune_intermediate_layers([0, third])
    assert kept == [0, third]
    # the head and pooling went with the later blocks: forward ends at the last kept feature
    torch.testing.assert_close(model(x), intermediates[third])
    assert model.forward_intermediates(x, indices=kept, intermediates_only=True)[0].shape == intermediates[0].shape


def _check_features_only(name: str, full: torch.nn.Module, x: torch.Tensor) -> None:
    model = timm.create_model(name, features_only=True, out_indices=(0, 1, 3)).eval()
    # data pipelines read the input size, mean and std from the wrapper as from the classifier
    for key in ("input_size", "interpolation", "crop_pct", "mean", "std"):
        assert model.pretrained_cfg[key] == full.pretrained_cfg[key], key
    assert model.default_cfg is model.pretrained_cfg
    info = [full.feature_info[i] for i in (0, 1, 3)]
    assert model.feature_info.channels() == [f["num_chs"] for f in info]
    assert model.feature_info.reduction() == [f["reduction"] for f in info]
    assert [tuple(o.shape) for o in model(x)] == [
        (1, f["num_chs"], math.ceil(SIZE / f["reduction"]), math.ceil(SIZE / f["reduction"])) for f in info]


@pytest.mark.parametrize("name", REGISTERED)
def test_registered_model_keeps_the_contract(name):
    """Config, head with and without pooling, intermediates and pruning, features_only: on every model."""
    model = timm.create_model(name).eval()
    _check_data_config(name, model)
    reductions = [f["reduction"] for f in model.feature_info]
    assert len(reductions) >= 3 and reductions == sorted(set(reductions))  # one feature per output stride
    x = _image()
    with torch.no_grad():
        features = model.forward_features(x)
        _check_features_only(name, model, x)
        _check_intermediates(copy.deepcopy(model), x, features)
        _check_head(model, features)


@pytest.mark.parametrize("name", MUXNETS)
def test_builder_options_of_timm(name):
    """What timm's builder passes: no classifier or pooling from the start, in_chans, default features_only."""
    x = _image()
    with torch.no_grad():
        unpooled = timm.create_model(name, num_classes=0, global_pool="").eval()
        assert unpooled(x).dim() == 4 and unpooled(x).shape[1] == unpooled.num_features
        gray = timm.create_model(name, in_chans=1, num_classes=3).eval()
        assert gray(x[:, :1]).shape == (1, 3)
        features = timm.create_model(name, features_only=True).eval()
        assert features.feature_info.reduction() == [f["reduction"] for f in unpooled.feature_info]
        assert len(features(x)) == len(unpooled.feature_info)
        getter = timm.create_model(name, features_only=True, feature_cls="getter", out_indices=(1, 2)).eval()
        assert [o.shape[1] for o in getter(x)] == getter.feature_info.channels()


@pytest.mark.parametrize("name", SLOW_CHECKED)
def test_backward_reaches_every_parameter(name):
    model = timm.create_model(name, num_classes=7).train()
    out = model(_image(2))
    assert out.shape == (2, 7)
    out.mean().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []


@pytest.mark.parametrize("name", SLOW_CHECKED)
def test_torchscript_matches_eager(name):
    with timm.layers.set_layer_config(scriptable=True):
        model = timm.create_model(name).eval()
    scripted = torch.jit.script(model)
    x = _image()
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), model(x))


def _fx_trace(model: torch.nn.Module) -> torch.fx.GraphModule:
    """Symbolic tracing with the leaf modules and wrapped functions timm's FX feature extraction uses."""
    leaves = tuple(get_notrace_modules())

    class Tracer(torch.fx.Tracer):
        def is_leaf_module(self, module, name):
            return isinstance(module, leaves) or super().is_leaf_module(module, name)

    return torch.fx.GraphModule(model, Tracer(autowrap_functions=tuple(get_notrace_functions())).trace(model))


@pytest.mark.parametrize("name", SLOW_CHECKED)
def test_fx_traces_in_eval_and_train(name):
    model = timm.create_model(name, num_classes=7).eval()
    x = _image(2)
    with torch.no_grad():
        traced = _fx_trace(model)
        torch.testing.assert_close(traced(x), model(x))
        torch.testing.assert_close(torch.jit.script(traced)(x), model(x))  # FX's code is scriptable too
    traced = _fx_trace(model.train())
    traced(x).mean().backward()
    assert [n for n, p in traced.named_parameters() if p.grad is None] == []
