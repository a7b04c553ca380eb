"""``kill -9`` of a search leaves no process-pool worker running."""

import os
import signal
import subprocess
import sys

import pytest

from process_tree import descendants, needs_proc, survivors, wait_for

# A module the spawned workers can import: the evaluator marks that a worker has started a candidate, then
# holds it long enough that only the parent's death can end the worker in time.
EVALUATOR = '''
import os, time
from pathlib import Path
from muxnet.search.evaluators import SyntheticEvaluator

class Holding(SyntheticEvaluator):
    def __init__(self, marks):
        super().__init__()
        self.marks = marks

    def evaluate(self, task):
        Path(self.marks, str(os.getpid())).touch()
        time.sleep(120)
        return super().evaluate(task)
'''
SEARCH = '''
import sys
from holding import Holding
from muxnet.search.driver import SearchConfig, run_search
config = SearchConfig(evaluator="synthetic", population=6, generations=1, seed=0)
run_search(config, sys.argv[1], executor="process", workers=2, evaluator=Holding(sys.argv[2]), log=print)
'''


@needs_proc
@pytest.mark.slow
def test_kill_9_of_the_search_ends_its_workers(tmp_path):
    (tmp_path / "holding.py").write_text(EVALUATOR)
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path]), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", SEARCH, str(tmp_path / "run"), str(marks)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(list(marks.iterdir())) >= 2, 120, "two workers evaluating")
        workers = descendants(proc.pid)
        assert {int(p.name) for p in marks.iterdir()} <= set(workers)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert survivors(workers, within=3.0) == []
