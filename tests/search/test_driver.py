import csv
import dataclasses
import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from muxnet import create_model
from muxnet.search.archive import Archive, ArchiveError, Evaluation
from muxnet.search.driver import SearchConfig, recorded_config, run_search
from muxnet.search.driver.search_run import SearchSetupError
from muxnet.search.evaluators import EvalTask, SyntheticEvaluator, TableEvaluator, run_task
from muxnet.search.space import SearchSpace, genome_key

CONFIG = SearchConfig(evaluator="synthetic", population=6, generations=3, seed=3)
COLUMNS = ("genome", "status", "error", "params", "madds", "generation")


def archive_rows(run_dir):
    with sqlite3.connect(run_dir / "archive.sqlite") as db:
        return sorted(db.execute(f"SELECT {', '.join(COLUMNS)} FROM evaluations").fetchall())


def quiet(_line):
    pass


def test_tiny_search_writes_every_output(tmp_path):
    result = run_search(CONFIG, tmp_path / "run", log=quiet)
    run = tmp_path / "run"
    rows = archive_rows(run)
    assert result.evaluations == len(rows) and len({r[0] for r in rows}) == len(rows)  # no genome twice
    assert len(rows) <= CONFIG.budget
    with (run / "pareto.csv").open() as handle:
        front = list(csv.DictReader(handle))
    assert front and set(front[0]) == {"genome", "spec", "error", "params", "madds"}
    errors = [(float(r["params"]), float(r["madds"]), float(r["error"])) for r in front]
    for a in errors:  # non-dominated: no member is at least as good everywhere and better somewhere
        assert not any(b != a and all(x <= y for x, y in zip(b, a)) for b in errors)
    model = create_model(run / front[0]["spec"], num_classes=10).eval()
    assert model(__import__("torch").zeros(1, 3, 32, 32)).shape == (1, 10)
    tops = sorted((run / "top").glob("*.yaml"))
    assert len(tops) == 3 * CONFIG.top_k
    create_model(tops[0], num_classes=10)
    assert (run / "pareto.png").stat().st_size > 1000


def test_resume_is_refused_on_other_config_and_existing_runs_are_not_overwritten(tmp_path):
    run = tmp_path / "run"
    run_search(CONFIG, run, log=quiet)
    before = archive_rows(run)
    with pytest.raises(SearchSetupError, match="already holds a search"):
        run_search(CONFIG, run, log=quiet)
    other = SearchConfig(evaluator="synthetic", population=6, generations=3, seed=4)
    with pytest.raises(SearchSetupError, match=r"different configuration \(seed: 3 -> 4\)"):
        run_search(other, run, resume=True, log=quiet)
    assert archive_rows(run) == before
    with pytest.raises(SearchSetupError, match="holds no search archive"):
        run_search(CONFIG, tmp_path / "empty", resume=True, log=quiet)


def test_runs_of_the_earlier_state_format_are_refused_in_one_line(tmp_path):
    run = tmp_path / "run"
    run_search(CONFIG, run, log=quiet)
    with Archive(run / "archive.sqlite") as archive:  # a setting this version no longer has
        archive.set_meta("config", {**archive.get_meta("config"), "proxy_subset": 500})
    state = json.loads((run / "state.json").read_text())
    (run / "state.json").write_text(json.dumps({**state, "version": 1}))
    before = archive_rows(run)
    with pytest.raises(SearchSetupError, match=r"earlier version of the search \(settings proxy_subset are new "
                                               r"or gone; state version 1, this one reads 2\) and cannot be continued"):
        run_search(CONFIG, run, resume=True, log=quiet)
    assert archive_rows(run) == before


def test_a_run_recorded_before_a_setting_existed_resumes_at_its_default(tmp_path):
    run = tmp_path / "run"
    run_search(CONFIG, run, log=quiet)
    with Archive(run / "archive.sqlite") as archive:  # as written before the composition was a setting
        archive.set_meta("config", {k: v for k, v in archive.get_meta("config").items() if k != "difficulty"})
    before = archive_rows(run)
    assert recorded_config(run)["difficulty"] == "standard"
    run_search(CONFIG, run, resume=True, log=quiet)
    assert archive_rows(run) == before
    with pytest.raises(SearchSetupError, match=r"different configuration \(difficulty: 'standard' -> 'hard'\)"):
        run_search(dataclasses.replace(CONFIG, difficulty="hard"), run, resume=True, log=quiet)


def test_corrupt_archive_is_one_clear_error(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "archive.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(SearchSetupError, match="not a readable search archive"):
        run_search(CONFIG, run, resume=True, log=quiet)
    assert (run / "archive.sqlite").read_bytes() == b"this is not sqlite" * 100
    with pytest.raises(ArchiveError):
        Archive(run / "archive.sqlite")


def test_resuming_a_finished_search_evaluates_nothing_new(tmp_path):
    run = tmp_path / "run"
    run_search(CONFIG, run, log=quiet)
    before = archive_rows(run)
    run_search(CONFIG, run, resume=True, log=quiet)
    assert archive_rows(run) == before


KILL_SCRIPT = """
import sys
from muxnet.search.driver import SearchConfig, recorded_config, run_search
from muxnet.search.evaluators import SyntheticEvaluator
config = SearchConfig(evaluator="synthetic", population=6, generations=3, seed=3)
run_search(config, sys.argv[1], evaluator=SyntheticEvaluator(delay=float(sys.argv[2])), log=print)
"""


@pytest.mark.slow
def test_kill_9_mid_run_then_resume_gives_the_uninterrupted_result(tmp_path):
    reference = tmp_path / "reference"
    run_search(CONFIG, reference, log=quiet)

    run = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(run), "0.1"], stdout=subprocess.DEVNULL)
    deadline = time.time() + 180  # start-up alone can take a minute on a loaded machine
    seen = 0
    while time.time() < deadline:  # kill in the middle of the third generation
        if (run / "archive.sqlite").exists():
            try:
                seen = len(archive_rows(run))
            except sqlite3.OperationalError:
                seen = 0
            if seen >= 2 * CONFIG.population + 2:
                break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = archive_rows(run)
    assert 0 < len(partial) < len(archive_rows(reference)), "the kill must land mid-run"
    assert not (run / "pareto.csv").exists()

    evaluated = []

    class Counting(SyntheticEvaluator):
        def evaluate(self, task):
            evaluated.append(task.genome)
            return super().evaluate(task)

    run_search(CONFIG, run, resume=True, evaluator=Counting(), log=quiet)
    assert not set(evaluated) & {r[0] for r in partial}  # no finished evaluation repeated
    assert archive_rows(run) == archive_rows(reference)
    assert (run / "pareto.csv").read_text() == (reference / "pareto.csv").read_text()


def test_failed_candidates_are_recorded_and_skipped(tmp_path):
    space = SearchSpace("small")
    rng = np.random.default_rng(0)
    known = {genome_key(space.sample(rng)): 0.3 for _ in range(5)}
    table = tmp_path / "metrics.csv"
    table.write_text("genome,error\n" + "".join(f"{k},{v}\n" for k, v in known.items()))
    config = SearchConfig(evaluator=f"table:{table}", population=6, generations=1)
    result = run_search(config, tmp_path / "run", log=quiet)
    with Archive(tmp_path / "run" / "archive.sqlite") as archive:
        rows = archive.all()
    failed = [r for r in rows if not r.ok]
    assert result.failed == len(failed) > 0
    assert all("is not in metrics.csv" in r.message and r.error is None for r in failed)


def test_run_task_turns_nan_and_exceptions_into_failures():
    class Nan:
        def evaluate(self, task):
            return float("nan")

    class Boom:
        def evaluate(self, task):
            raise MemoryError("out of memory")

    task = EvalTask("0-0", {}, 1, 1, 0)
    assert run_task(Nan(), task).status == "failed"
    result = run_task(Boom(), task)
    assert result.status == "failed" and "MemoryError: out of memory" in result.message


def test_table_evaluator_reads_csv_and_a_previous_archive(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,acc\nx,1\n")
    with pytest.raises(ValueError, match="needs the columns 'genome' and 'error'"):
        TableEvaluator(bad)
    with pytest.raises(FileNotFoundError):
        TableEvaluator(tmp_path / "missing.csv")
    with Archive(tmp_path / "a.sqlite") as archive:
        archive.add(Evaluation("1-2", "ok", 0.25, 10, 20))
        archive.add(Evaluation("2-2", "failed", None, 10, 20, "x"))
        with pytest.raises(sqlite3.IntegrityError):
            archive.add(Evaluation("1-2", "ok", 0.5, 10, 20))  # a genome is archived once
    assert TableEvaluator(tmp_path / "a.sqlite").table == {"1-2": 0.25}
    with gzip.open(tmp_path / "table.csv.gz", "wt") as handle:  # the stored tabular benchmark's format
        handle.write("genome,error,params,madds,seconds\n1-2,0.125,10,20,1.5\n")
    assert TableEvaluator(tmp_path / "table.csv.gz").table == {"1-2": 0.125}


def test_cli_search_bad_input_is_one_line(tmp_path):
    from muxnet.cli import main

    assert main(["search", "--targets", "params=9M,madds=3M", "--output", str(tmp_path / "x")]) == 2
    assert main(["search", "--data", str(tmp_path / "nope"), "--output", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_proxy_training_search_on_digits_with_a_process_pool(tmp_path):
    config = SearchConfig(dataset="digits", population=6, generations=0, epochs=1, max_train_samples=200, seed=1,
                          targets="params=0.6M,madds=2M;params=1.5M,madds=5.5M")
    result = run_search(config, tmp_path / "run", executor="process", workers=2, log=quiet)
    assert result.evaluations == 6 and result.failed == 0
    with Archive(tmp_path / "run" / "archive.sqlite") as archive:
        assert all(0.0 <= r.error <= 1.0 for r in archive.all())


@pytest.mark.slow
def test_ray_executor_on_a_local_instance(tmp_path):
    pytest.importorskip("ray")
    result = run_search(CONFIG, tmp_path / "ray", executor="ray", workers=2, log=quiet)
    run_search(CONFIG, tmp_path / "local", log=quiet)
    assert archive_rows(tmp_path / "ray") == archive_rows(tmp_path / "local")
    assert result.evaluations > 0
