"""Atomic files and directories: a reader never sees half of one, and nothing of another run is overwritten."""

import pytest

from muxnet.runtime import atomic_write, refuse_existing_run, write_directory_once


def test_atomic_write_leaves_the_old_file_when_the_writer_fails(tmp_path):
    path = atomic_write(tmp_path / "state.json", "old")

    def failing(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, failing)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["state.json"]
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"


def test_a_directory_is_written_once_then_reused(tmp_path):
    calls = []

    def write(folder):
        calls.append(folder)
        (folder / "a.txt").write_text("a")

    target = tmp_path / "scenes"
    assert write_directory_once(target, write) == target
    assert write_directory_once(target, write) == target
    assert len(calls) == 1 and calls[0] != target and (target / "a.txt").read_text() == "a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenes"]


def test_a_failed_or_foreign_directory_is_never_taken_for_complete(tmp_path):
    def failing(folder):
        (folder / "a.txt").write_text("a")
        raise RuntimeError("killed")

    target = tmp_path / "scenes"
    with pytest.raises(RuntimeError, match="killed"):
        write_directory_once(target, failing)
    assert list(tmp_path.iterdir()) == []
    target.mkdir()
    with pytest.raises(FileExistsError, match="exists but is not a complete scenes tree"):
        write_directory_once(target, lambda folder: None, "scenes tree")


def test_refuse_existing_run_names_what_is_there(tmp_path):
    refuse_existing_run(tmp_path / "new", ["summary.json"], "a cam run")
    (tmp_path / "summary.json").write_text("{}")
    with pytest.raises(FileExistsError, match=r"already holds a cam run \(summary.json\); choose another --output"):
        refuse_existing_run(tmp_path, ["summary.json", "bars.png"], "a cam run")

