"""``kill -9`` of ``muxnet train`` leaves no DataLoader worker or ``torchrun`` rank running."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from process_tree import descendants, needs_proc, survivors, wait_for

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _kill_then_survivors(proc: subprocess.Popen, children: list[int]) -> list[int]:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return survivors(children, within=3.0)  # torch's own worker watchdog would take up to 5 s


@needs_proc
@pytest.mark.slow
def test_kill_9_of_training_ends_its_loader_workers(image_folder, tiny_spec_file, tmp_path):
    cmd = [sys.executable, "-m", "muxnet.cli", "train", "--data", str(image_folder), "--model", str(tiny_spec_file),
           "--output", str(tmp_path / "run"), "--epochs", "1000", "--workers", "2", "--batch-size", "2",
           "--image-size", "16", "--no-progress", "--threads", "1", "--skip-bad-images"]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        workers = wait_for(lambda: len(descendants(proc.pid)) >= 2 and descendants(proc.pid), 120,
                           "two loader workers")
    finally:
        left = _kill_then_survivors(proc, descendants(proc.pid))
    assert len(workers) >= 2 and left == []


@needs_proc
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None,
                    reason="torchrun not installed")
def test_kill_9_of_torchrun_ends_its_ranks(tiny_spec_file, tmp_path):
    run = tmp_path / "ddp"
    cmd = [str(Path(sys.executable).parent / "torchrun"), "--standalone", "--nproc_per_node", "2", "-m",
           "muxnet.cli", "train", "--model", str(tiny_spec_file), "--output", str(run), "--epochs", "1000",
           "--batch-size", "16", "--image-size", "16", "--no-progress", "--threads", "1"]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: (run / "recipe.yaml").exists(), 180, "the ranks to set up")  # after setup_distributed
        ranks = descendants(proc.pid)
    finally:
        left = _kill_then_survivors(proc, descendants(proc.pid))
    assert len(ranks) >= 2 and left == []
