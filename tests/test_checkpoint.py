from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file

import muxnet
from released_reference import (
    MUXNET_L_TABLE,
    MUXNET_M_TABLE,
    random_released_state_dict,
    read_layout,
    released_forward,
)

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
LAYOUTS = {
    "muxnet_m": (REFERENCE / "muxnet_m_official_state_dict.tsv", MUXNET_M_TABLE),
    "muxnet_l": (REFERENCE / "muxnet_l_official_state_dict.tsv", MUXNET_L_TABLE),
}
# The .tsv layouts are project reference files; keep a copy in the test tree so the tests run anywhere.
LOCAL = Path(__file__).parent / "data"


def _layout(name):
    local = LOCAL / f"{name}_official_state_dict.tsv"
    return read_layout(local if local.exists() else LAYOUTS[name][0])


@pytest.mark.parametrize("name", ["muxnet_m", "muxnet_l"])
def test_released_layout_matches_key_for_key(name):
    layout = _layout(name)
    model = muxnet.create_model(name)
    ours = model.state_dict()
    # map our stage layout back onto the flat released numbering
    flat = {f"blocks.{s}.{i}": f"blocks.{k}.0" for k, (s, i) in
            enumerate((int(n.split(".")[1]), int(n.split(".")[2])) for n in model.block_names())}
    renamed = {}
    for key, value in ours.items():
        if key.startswith("blocks."):
            head = ".".join(key.split(".")[:3])
            key = flat[head] + key[len(head):]
        renamed[key] = tuple(value.shape)
    assert renamed.keys() == layout.keys()
    assert renamed == layout


@pytest.mark.parametrize("name", ["muxnet_m", "muxnet_l"])
def test_released_checkpoint_loads_and_computes_the_released_function(name, tmp_path):
    layout = _layout(name)
    table = LAYOUTS[name][1]
    state_dict = random_released_state_dict(layout)
    path = tmp_path / f"{name}.pth"
    torch.save({"state_dict": state_dict}, path)
    model = muxnet.load_checkpoint(muxnet.create_model(name), path).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        ours = model(x)
    expected = released_forward(state_dict, table, x)
    assert ours.shape == (2, 1000)
    torch.testing.assert_close(ours, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ["mixnet_s", "mixnet_m", "mixnet_l"])
def test_mixnet_equals_timm(name, tmp_path):
    reference = timm.create_model(name).eval()
    with torch.no_grad():  # move BN statistics away from identity so that a wrong mapping would show
        for m in reference.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    path = tmp_path / f"{name}.safetensors"
    save_file(reference.state_dict(), str(path))
    model = muxnet.load_checkpoint(muxnet.create_model(name), path).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), atol=1e-4, rtol=1e-4)


@pytest.fixture
def small_model():
    return muxnet.create_model("mixnet_s", num_classes=10)


@pytest.mark.parametrize("wrapper", [None, "state_dict", "state_dict_ema", "model"])
def test_wrappers_and_module_prefix(small_model, tmp_path, wrapper):
    source = muxnet.create_model("mixnet_s", num_classes=10)
    sd = {f"module.{k}": v for k, v in source.state_dict().items()}
    path = tmp_path / "ckpt.pth"
    torch.save(sd if wrapper is None else {wrapper: sd, "epoch": 3}, path)
    muxnet.load_checkpoint(small_model, path)
    for (k, a), b in zip(small_model.state_dict().items(), source.state_dict().values()):
        assert torch.equal(a, b), k


def test_ema_is_preferred_over_raw_weights(small_model, tmp_path):
    raw = muxnet.create_model("mixnet_s", num_classes=10).state_dict()
    ema = {k: v + 1 if v.is_floating_point() else v for k, v in raw.items()}
    path = tmp_path / "train.pth"
    torch.save({"state_dict": raw, "state_dict_ema": ema}, path)
    muxnet.load_checkpoint(small_model, path)
    assert torch.equal(small_model.conv_stem.weight, ema["conv_stem.weight"])
    muxnet.load_checkpoint(small_model, path, prefer_ema=False)
    assert torch.equal(small_model.conv_stem.weight, raw["conv_stem.weight"])


def test_mismatch_is_reported_with_every_kind_of_problem(small_model, tmp_path):
    sd = dict(small_model.state_dict())
    sd.pop("conv_stem.weight")
    sd["extra.weight"] = torch.zeros(1)
    sd["conv_head.weight"] = torch.zeros(3, 3, 1, 1)
    path = tmp_path / "bad.pth"
    torch.save(sd, path)
    with pytest.raises(muxnet.CheckpointError) as err:
        muxnet.load_checkpoint(small_model, path)
    message = str(err.value)
    assert "missing keys: conv_stem.weight" in message
    assert "unexpected keys: extra.weight" in message
    assert "conv_head.weight: checkpoint (3, 3, 1, 1)" in message


def test_new_classifier_for_fine_tuning(tmp_path):
    source = muxnet.create_model("mixnet_s")
    path = tmp_path / "imagenet.pth"
    torch.save(source.state_dict(), path)
    with pytest.raises(muxnet.CheckpointError, match="classifier.weight"):
        muxnet.load_checkpoint(muxnet.create_model("mixnet_s", num_classes=10), path)
    model = muxnet.create_model("mixnet_s", num_classes=10, pretrained=path)
    assert model.classifier.out_features == 10
    assert torch.equal(model.conv_stem.weight, source.conv_stem.weight)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04garbage"])
def test_corrupt_files_get_a_clear_error(small_model, tmp_path, content):
    path = tmp_path / "corrupt.pth"
    path.write_bytes(content)
    with pytest.raises(muxnet.CheckpointError, match="cannot read checkpoint"):
        muxnet.load_checkpoint(small_model, path)


def test_missing_file_and_pickled_objects_are_refused(small_model, tmp_path):
    with pytest.raises(muxnet.CheckpointError, match="no checkpoint file"):
        muxnet.load_checkpoint(small_model, tmp_path / "nope.pth")
    path = tmp_path / "pickle.pth"
    torch.save({"state_dict": small_model.state_dict(), "evil": object()}, path)
    with pytest.raises(muxnet.CheckpointError, match="cannot read checkpoint"):
        muxnet.load_checkpoint(small_model, path)


def test_save_weights_round_trip(small_model, tmp_path):
    for suffix in (".safetensors", ".pth"):
        path = muxnet.save_weights(small_model, tmp_path / f"w{suffix}")
        other = muxnet.load_checkpoint(muxnet.create_model("mixnet_s", num_classes=10), path)
        assert all(torch.equal(a, b) for a, b in zip(other.state_dict().values(), small_model.state_dict().values()))


def test_pretrained_true_is_refused():
    with pytest.raises(ValueError, match="never"):
        muxnet.create_model("muxnet_m", pretrained=True)
