import pytest
import torch
from torch import nn

import muxnet
from muxnet.profiling import profile


def test_profile_counts_linear_and_grouped_convs_by_hand():
    model = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1, groups=2, bias=False), nn.Flatten(), nn.Linear(8 * 25, 3))
    p = profile(model, (4, 5, 5))
    assert p.madds == 8 * 25 * 2 * 9 + 8 * 25 * 3
    assert p.params == 8 * 2 * 9 + 8 * 25 * 3 + 3
    assert [r.kind for r in p.layers] == ["gconv", "linear"]
    assert "total" in p.table()


def test_profile_restores_training_mode_and_rejects_bad_sizes():
    model = muxnet.create_model("mixnet_s")
    model.train()
    profile(model, (3, 64, 64))
    assert model.training
    with pytest.raises(ValueError, match="channels, height, width"):
        profile(model, (64, 64))


def test_profile_works_on_meta_models():
    with torch.device("meta"):
        model = muxnet.create_model("muxnet_l")
    p = profile(model)
    assert (p.params, p.madds) == (4041178, 316454832)


def test_the_top_level_names_are_the_profiling_package_s():
    assert muxnet.profile is profile and muxnet.Profile is muxnet.profiling.Profile
    assert muxnet.profile_spec(muxnet.get_spec("muxnet_m")).params == 3_354_276
