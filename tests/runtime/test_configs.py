"""A run config is given whole or as keywords, and an unset path is None."""

import pytest


def test_a_config_comes_whole_or_as_keywords_never_both():
    from dataclasses import dataclass

    from muxnet.runtime import config_from, optional_path

    @dataclass(frozen=True)
    class Settings:
        seed: int = 0

    assert config_from(Settings, None, {"seed": 3}, "run") == Settings(3)
    given = Settings(1)
    assert config_from(Settings, given, {}, "run") is given
    with pytest.raises(TypeError, match="run takes a Settings or its fields as keywords, not both"):
        config_from(Settings, given, {"seed": 2}, "run")
    with pytest.raises(TypeError, match="run takes a Settings, got dict"):
        config_from(Settings, {"seed": 2}, {}, "run")
    assert optional_path("") is None and optional_path(None) is None and optional_path("a").name == "a"
