import json

import pytest

import muxnet
from muxnet import BlockSpec, NetworkSpec, SpecError


@pytest.mark.parametrize("name", muxnet.list_models())
def test_zoo_specs_round_trip_through_json_and_yaml(name, tmp_path):
    spec = muxnet.get_spec(name)
    assert NetworkSpec.from_json(spec.to_json()) == spec
    assert NetworkSpec.from_yaml(spec.to_yaml()) == spec
    for suffix in (".json", ".yaml"):
        path = spec.save(tmp_path / f"{name}{suffix}")
        assert NetworkSpec.load(path) == spec


def test_a_spec_file_builds_the_same_model(tmp_path):
    path = muxnet.get_spec("muxnet_m").save(tmp_path / "m.yaml")
    a, b = muxnet.profile(muxnet.create_model(path)), muxnet.profile(muxnet.create_model("muxnet_m"))
    assert (a.params, a.madds) == (b.params, b.madds)
    # a spec file keeps its own number of classes unless asked otherwise
    ten = muxnet.get_spec("muxnet_m").replace(num_classes=10).save(tmp_path / "ten.json")
    assert muxnet.create_model(ten).num_classes == 10
    assert muxnet.create_model(ten, num_classes=3).num_classes == 3


def _tiny(**block):
    fields = {"type": "mux", "out_channels": 16, "expand_ratio": 4, "leave_out": 0.5, "group_factor": 2}
    fields.update(block)
    return {"name": "tiny", "stem_channels": 16, "head_channels": 64,
            "stages": [[{"type": "ir", "out_channels": 16, "stride": 2, "expand_ratio": 4}], [fields]]}


def test_tiny_spec_builds_and_runs():
    import torch

    spec = NetworkSpec.from_dict(_tiny(scales=[-1, 0, 0, 1]))
    model = muxnet.build_model(spec)
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 1000)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"group_factor": 3}, r"stages\[1\]\[0\]\.group_factor: must divide the 32 expanded channels"),
        ({"kernel_size": 4}, r"stages\[1\]\[0\]\.kernel_size: .*odd"),
        ({"leave_out": 1.2}, r"stages\[1\]\[0\]\.leave_out: must be in \[0, 1\)"),
        ({"scales": [2]}, r"stages\[1\]\[0\]\.scales"),
        ({"out_channels": 24}, r"stages\[1\]\[0\]\.out_channels: a 'mux' block keeps its width"),
        ({"stride": 2}, r"stages\[1\]\[0\]\.stride: 'mux' \(normal\) blocks keep the resolution"),
        ({"activation": "swosh"}, r"stages\[1\]\[0\]\.activation: must be one of"),
        ({"type": "conv"}, r"stages\[1\]\[0\]\.type: must be one of"),
        ({"kernel_szie": 3}, r"stages\[1\]\[0\]: unknown field\(s\) \['kernel_szie'\]"),
        ({"scales": [-1, 1], "expand_ratio": 1.25}, r"stages\[1\]\[0\]\.scales: cannot split 10 channels"),
    ],
)
def test_invalid_specs_name_the_block_and_field(change, message):
    with pytest.raises(SpecError, match=message):
        NetworkSpec.from_dict(_tiny(**change))


def test_network_level_errors():
    data = _tiny()
    with pytest.raises(SpecError, match="missing required field"):
        NetworkSpec.from_dict({k: v for k, v in data.items() if k != "stem_channels"})
    with pytest.raises(SpecError, match="stages\\[0\\]: each stage must be a non-empty list"):
        NetworkSpec.from_dict({**data, "stages": [[]]})
    with pytest.raises(SpecError, match="version"):
        NetworkSpec.from_dict({**data, "version": 99})
    with pytest.raises(SpecError, match="not valid JSON"):
        NetworkSpec.from_json("{")
    with pytest.raises(SpecError, match="group_factor: only applies to 'mux'"):
        BlockSpec("ir", 16, group_factor=2)


def test_spec_file_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_tiny(group_factor=3)))
    with pytest.raises(SpecError, match="bad.json: stages"):
        NetworkSpec.load(path)
    with pytest.raises(FileNotFoundError):
        NetworkSpec.load(tmp_path / "none.json")


def test_resolved_blocks_expand_repeats():
    spec = muxnet.get_spec("muxnet_m")
    blocks = list(spec.blocks())
    assert len(blocks) == 18  # the released MUXNet-m has 18 blocks
    assert [b.in_channels for b in blocks[:5]] == [24, 24, 24, 24, 24]
    assert [b.stride for b in blocks].count(2) == 4
    assert blocks[-1].drop_path_rate == pytest.approx(0.1 * 17 / 18)


def test_block_spec_to_dict_is_minimal_and_hashable():
    block = BlockSpec("mux", 40, kernel_size=[3], leave_out=0.5, scales=[-1, 0, 0])
    assert block.to_dict() == {"type": "mux", "out_channels": 40, "leave_out": 0.5, "scales": [-1, 0, 0]}
    assert hash(block) == hash(BlockSpec.from_dict(block.to_dict()))
