import dataclasses
import json
import math

import pytest
import torch

from data.makers import TINY_SPEC
from muxnet.models.spec import BlockSpec
from muxnet.profiling.latency import LatencyTable, LatencyTableError, machine_description, measure_module
from muxnet.profiling.spec_cost import block_layout

# a spec with a repeated block (first and later repetitions differ in width) and the tiny spec's SE/MUX blocks
REPEATED = dataclasses.replace(TINY_SPEC, name="tiny_repeated", stages=(
    *TINY_SPEC.stages, (BlockSpec("ir", 24, stride=2, expand_ratio=2, repeat=3),)))


class CountingTimer:
    """A fake clock: 'milliseconds' = the module's parameter count / 1000, so that parts add up exactly to the
    whole network; remembers what it timed."""

    def __init__(self):
        self.calls = []

    def __call__(self, module, shape):
        self.calls.append((type(module).__name__, tuple(shape)))
        return sum(p.numel() for p in module.parameters()) / 1000


def test_network_latency_is_stem_plus_each_block_times_its_repetitions_plus_head(tmp_path):
    timer = CountingTimer()
    table = LatencyTable(tmp_path / "lut.json", timer=timer)
    layout = block_layout(REPEATED)
    assert [count for _, count in layout.blocks] == [1, 1, 1, 1, 2]  # the repeated block: first + 2 more
    total = table.network(REPEATED)
    # stem, the five distinct blocks, head: each timed once
    assert len(timer.calls) == 1 + len(layout.blocks) + 1 == len(table)
    blocks = sum(count * table.block(*key) for key, count in layout.blocks)
    assert len(timer.calls) == 7  # looked up, not timed again
    assert total > blocks > 0
    # with an additive clock the table's sum is the whole network's measurement: every module counted once
    whole = table.measure_network(REPEATED)
    assert total == pytest.approx(whole)
    validation = table.validate([REPEATED, TINY_SPEC])
    assert validation.max_error == pytest.approx(0.0, abs=1e-9)
    assert validation.to_dict()["networks"][0]["name"] == "tiny_repeated"


def test_the_table_is_cached_on_disk_with_the_machine_and_reused(tmp_path):
    path = tmp_path / "cache" / "lut.json"
    first = LatencyTable(path, timer=CountingTimer())
    value = first.network(TINY_SPEC)
    assert first.save() == path and first.measured == len(first)
    stored = json.loads(path.read_text())
    assert stored["machine"] == machine_description(1) and stored["machine"]["threads"] == 1
    assert stored["machine"]["clock"] == "thread"

    def never(module, shape):
        raise AssertionError("a cached entry was timed again")

    again = LatencyTable(path, timer=never)
    assert again.network(TINY_SPEC) == value and again.measured == 0
    # a second process adding entries meanwhile keeps them when this one saves
    other = LatencyTable(path, timer=CountingTimer())
    other.network(REPEATED)
    other.save()
    again.entries["extra"] = 1.0
    again._dirty = True
    again.save()
    assert set(json.loads(path.read_text())["entries"]) == set(other.entries) | {"extra"}


def test_a_table_from_another_machine_is_refused_in_one_line(tmp_path):
    path = tmp_path / "lut.json"
    table = LatencyTable(path, timer=CountingTimer())
    table.network(TINY_SPEC)
    table.save()
    data = json.loads(path.read_text())
    data["machine"]["cpu"] = "Some Other CPU @ 1.0GHz"
    path.write_text(json.dumps(data))
    with pytest.raises(LatencyTableError, match=r"measured on another machine \(cpu 'Some Other CPU @ 1.0GHz', "
                                                r"here .*\); pass --rebuild-latency-table") as err:
        LatencyTable(path)
    assert "\n" not in str(err.value)
    rebuilt = LatencyTable(path, rebuild=True, timer=CountingTimer())
    assert len(rebuilt) == 0
    rebuilt.network(TINY_SPEC)
    rebuilt.save()
    assert json.loads(path.read_text())["machine"] == machine_description(1)
    path.write_text("{not json")
    with pytest.raises(LatencyTableError, match="not a readable muxnet latency table"):
        LatencyTable(path)
    with pytest.raises(ValueError, match="threads: must be at least 1"):
        LatencyTable(path, threads=0)


def test_a_real_measurement_of_the_tiny_network(tmp_path):
    """No assertion on speed: only that the real clock gives positive, finite milliseconds and a validation."""
    torch.manual_seed(0)
    assert measure_module(torch.nn.Conv2d(3, 4, 3), (1, 3, 8, 8), warmup=1, repeats=3) > 0
    table = LatencyTable(tmp_path / "lut.json", warmup=1, repeats=3)
    validation = table.validate([TINY_SPEC])
    assert math.isfinite(validation.mean_error) and validation.table_ms[0] > 0 and validation.measured_ms[0] > 0
