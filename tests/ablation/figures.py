"""A two-member figure of tiny networks (a second each to train) and the overrides that make its runs tiny."""

from __future__ import annotations

from pathlib import Path

from data.makers import TINY_SPEC
from muxnet.ablation import Claim, Figure, Line, Member
from muxnet.models.spec import BlockSpec

# every run: 16x16 inputs, one epoch of 3 batches, one thread, no loader processes (bit-exact resume on CPU)
TINY_RUN = ["data.image_size=16", "data.batch_size=4", "data.workers=0", "schedule.epochs=1",
            "training.threads=1", "output.progress=false"]


def tiny_figure(folder: Path) -> Figure:
    """``tiny_mux`` (channel-multiplexed normal block) against ``tiny_ir`` (a plain inverted residual)."""
    plain = TINY_SPEC.replace(name="tiny_ir", stages=(TINY_SPEC.stages[0], (
        TINY_SPEC.stages[1][0], BlockSpec("ir", 16, expand_ratio=2, se_ratio=0.25))))
    folder.mkdir(parents=True, exist_ok=True)
    mux, ir = TINY_SPEC.save(folder / "tiny_mux.yaml"), plain.save(folder / "tiny_ir.yaml")
    return Figure("tiny", "two tiny networks", (
        Line("multiplexed", (Member("tiny_mux", str(mux), "mux"),)),
        Line("plain", (Member("tiny_ir", str(ir), "ir"),))),
        (Claim("multiplexed vs plain", "better", "tiny_mux", "tiny_ir"),))
