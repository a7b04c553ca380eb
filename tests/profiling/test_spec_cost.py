import numpy as np

import muxnet
from muxnet.profiling import count_spec, profile_spec
from muxnet.search.space import SearchSpace


def test_count_spec_equals_the_full_profile():
    specs = [muxnet.get_spec(name) for name in ("muxnet_m", "muxnet_xs", "mixnet_s")]
    for preset in ("small", "imagenet224"):
        space = SearchSpace(preset)
        rng = np.random.default_rng(1)
        specs += [space.decode(space.sample(rng)) for _ in range(8)]
    for spec in specs:
        full = profile_spec(spec)
        assert count_spec(spec) == (full.params, full.madds), spec.name
    full = profile_spec(specs[0], (3, 256, 256))
    assert count_spec(specs[0], (3, 256, 256)) == (full.params, full.madds)
