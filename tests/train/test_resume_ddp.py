"""Resume after ``kill -9`` mid-epoch, and the same command under ``torchrun`` with 2 processes (gloo)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ARGS = ["--dataset", "digits", "--epochs", "2", "--batch-size", "8", "--image-size", "16", "--no-progress",
        "--threads", "1",
        "--set", "training.checkpoint_every_steps=10", "--set", "training.ema_decay=0.9",
        "--set", "model.drop_rate=0.2"]


def _train(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "muxnet.cli", "train", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def _finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    return out


def _records(run: Path) -> list[dict]:
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    for r in records:
        r.pop("epoch_time_s")
    return records


def test_killed_run_resumes_to_the_same_result(tmp_path, tiny_spec_file):
    model = ["--model", str(tiny_spec_file)]
    full, killed = tmp_path / "full", tmp_path / "killed"
    reference = _train(*model, *ARGS, "--output", str(full))

    proc = _train(*model, *ARGS, "--output", str(killed))
    progress, deadline = killed / "last.json", time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if progress.exists():
            try:
                at = json.loads(progress.read_text())
            except json.JSONDecodeError:
                at = {}
            if at.get("epoch") == 1 and at.get("batch", 0) > 0:  # mid-way through the second epoch
                break
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "summary.json").exists()
    interrupted_at = json.loads(progress.read_text())
    assert interrupted_at["epoch"] == 1 and 0 < interrupted_at["batch"] < 157

    out = _finish(_train("--resume", str(killed)))
    assert f"resuming {killed} at epoch 1, batch {interrupted_at['batch']}" in out
    _finish(reference)

    assert _records(killed) == _records(full)
    a, b = load_file(str(full / "last.safetensors")), load_file(str(killed / "last.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    sa, sb = (json.loads((r / "summary.json").read_text()) for r in (full, killed))
    assert sa["last"] == sb["last"] and sa["best"] == sb["best"] and sa["steps"] == sb["steps"] == 314


@pytest.mark.skipif(shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None,
                    reason="torchrun not installed")
def test_two_process_ddp_on_digits(tmp_path, tiny_spec_file):
    run = tmp_path / "ddp"
    torchrun = str(Path(sys.executable).parent / "torchrun")
    cmd = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "muxnet.cli", "train", "--model",
           str(tiny_spec_file), "--output", str(run), "--dataset", "digits", "--epochs", "2", "--batch-size", "16",
           "--image-size", "16",
           "--no-progress", "--threads", "1", "--set", "optimizer.lr=0.1", "--set", "schedule.warmup_epochs=0"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2
    # 1257 training images split over 2 ranks: 629 each, 39 full batches of 16 per rank and epoch
    assert summary["steps"] == 2 * 39
    # each rank evaluates its own shard; the counts add up to the whole split
    assert summary["last"]["test"]["count"] == 270 and summary["last"]["val"]["count"] == 270
    assert summary["last"]["test"]["top1"] > 30  # chance is 10
    assert result.stdout.count("wrote ") == 1  # one summary, from rank 0
