import pytest
import timm
import torch
import torch.fx

import muxnet

ZOO = ["muxnet_m", "muxnet_l", "mixnet_s", "mixnet_m", "mixnet_l"]

# Measured figures of TARGETS.md (1000 classes, 224x224, conv + linear multiply-adds).
GOLDEN = {
    "muxnet_m": (3.354e6, 216.8e6),
    "muxnet_l": (4.041e6, 316.5e6),
    "mixnet_s": (4.135e6, 239.2e6),
    "mixnet_m": (5.014e6, 339.2e6),
    "mixnet_l": (7.329e6, 555.3e6),
}


@pytest.mark.parametrize("name", ZOO)
def test_params_and_madds_match_the_measured_figures(name):
    params, madds = GOLDEN[name]
    p = muxnet.profile(muxnet.create_model(name))
    assert abs(p.params - params) / params < 0.005
    assert abs(p.madds - madds) / madds < 0.01
    spec_profile = muxnet.profile_spec(muxnet.get_spec(name))
    assert (spec_profile.params, spec_profile.madds) == (p.params, p.madds)


@pytest.mark.parametrize("name", ZOO)
@pytest.mark.parametrize("size", [224, 192])
def test_forward_backward(name, size):
    model = muxnet.create_model(name, num_classes=7)
    x = torch.randn(2, 3, size, size)
    out = model(x)
    assert out.shape == (2, 7)
    out.logsumexp(1).mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None for g in grads)
    assert all(torch.isfinite(g).all() for g in grads)
    assert model.conv_stem.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ZOO)
def test_eval_output_is_deterministic_and_fx_traceable(name):
    model = muxnet.create_model(name).eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        first, second = model(x), model(x)
        traced = torch.fx.symbolic_trace(model)
        assert torch.equal(first, second)
        torch.testing.assert_close(traced(x), first)


def test_same_seed_gives_same_weights():
    torch.manual_seed(3)
    a = muxnet.create_model("muxnet_m")
    torch.manual_seed(3)
    b = muxnet.create_model("muxnet_m")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_timm_surface_and_registration():
    model = timm.create_model("muxnet_m", num_classes=10, in_chans=1, drop_rate=0.3)
    assert isinstance(model, muxnet.MuxNet)
    assert model.conv_stem.in_channels == 1 and model.drop_rate == 0.3
    config = timm.data.resolve_data_config({}, model=model)
    assert config["interpolation"] == "bicubic" and config["crop_pct"] == 0.875
    assert [f["reduction"] for f in model.feature_info] == [2, 4, 8, 16, 32]
    assert [f["num_chs"] for f in model.feature_info] == [24, 24, 40, 112, 200]
    x = torch.randn(1, 1, 224, 224)
    features = model.forward_features(x)
    assert features.shape == (1, 1280, 7, 7)
    assert model.forward_head(features, pre_logits=True).shape == (1, 1280)
    model.reset_classifier(3)
    assert model(x).shape == (1, 3) and model.get_classifier().out_features == 3
    model.reset_classifier(0)
    assert model(x).shape == (1, 1280)
    assert "muxnet_m" in timm.list_models("muxnet_*")


def test_timm_feature_extractor_works_on_our_models():
    model = timm.create_model("muxnet_m", features_only=True, out_indices=(2, 3, 4))
    features = model(torch.randn(1, 3, 224, 224))
    assert [tuple(f.shape[1:]) for f in features] == [(40, 28, 28), (112, 14, 14), (200, 7, 7)]
    assert model.feature_info.channels() == [40, 112, 200]


def test_timm_pretrained_loads_a_local_file(tmp_path):
    path = muxnet.save_weights(muxnet.create_model("muxnet_m"), tmp_path / "w.safetensors")
    model = timm.create_model("muxnet_m", pretrained=True, pretrained_cfg_overlay={"file": str(path)})
    reference = muxnet.load_checkpoint(muxnet.create_model("muxnet_m"), path)
    assert torch.equal(model.conv_head.weight, reference.conv_head.weight)
    with pytest.raises(ValueError, match="no weights are downloaded"):
        timm.create_model("muxnet_m", pretrained=True)


def test_create_model_errors():
    with pytest.raises(KeyError, match="unknown model 'muxnet_q'"):
        muxnet.create_model("muxnet_q")
    with pytest.raises(TypeError, match="unknown option"):
        muxnet.create_model("muxnet_m", drop_conect_rate=0.1)
    with pytest.raises(muxnet.SpecError, match="drop_rate"):
        muxnet.create_model("muxnet_m", drop_rate=1.5)
    with pytest.raises(FileNotFoundError):
        muxnet.create_model("missing.yaml")


def test_drop_path_follows_the_spec():
    model = muxnet.create_model("muxnet_m", drop_path_rate=0.2)
    rates = [m.drop_prob for m in model.modules() if type(m).__name__ == "DropPath"]
    assert rates and max(rates) < 0.2 and rates == sorted(rates)
    plain = muxnet.create_model("muxnet_m", drop_path_rate=0.0)
    assert not any(type(m).__name__ == "DropPath" for m in plain.modules())


def test_grad_checkpointing_matches_plain_forward():
    model = muxnet.create_model("muxnet_m").eval()
    x = torch.randn(1, 3, 64, 64)
    expected = model(x)
    model.set_grad_checkpointing(True)
    torch.testing.assert_close(model(x), expected)
