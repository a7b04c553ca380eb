"""The SQLite archive of a search: every evaluation, written (and committed) the moment it finishes.

One row per distinct genome, so a genome is never evaluated twice, within a run or across a resume. The
``meta`` table holds the run's configuration; resuming checks it, so results of one configuration are never
mixed into a run of another.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    genome TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error REAL,
    params INTEGER,
    madds INTEGER,
    message TEXT,
    duration REAL,
    seed INTEGER,
    generation INTEGER,
    started REAL,
    finished REAL,
    costs TEXT,
    predicted_error REAL,
    predictor TEXT
);
"""


class ArchiveError(RuntimeError):
    """The archive file is unreadable, not a muxnet archive, or from another configuration."""


@dataclass(frozen=True)
class Evaluation:
    genome: str
    status: str
    error: float | None
    params: int | None
    madds: int | None
    message: str = ""
    duration: float = 0.0
    seed: int = 0
    generation: int = 0
    started: float = 0.0
    finished: float = 0.0
    costs: str | None = None  # JSON {name: value} of the cost objectives besides params and MAdds (latency, ...)
    # a surrogate-assisted search's pick: the predicted error, and JSON of the model, its tau, the predicted
    # standard deviation and how many proposals it was chosen from (None: not chosen by a predictor)
    predicted_error: float | None = None
    predictor: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def other_costs(self) -> dict[str, float]:
        return json.loads(self.costs) if self.costs else {}

    def cost(self, name: str) -> float:
        """The value of a cost objective for this genome (``None`` where it was not recorded)."""
        if name in ("params", "madds"):
            return getattr(self, name)
        return self.other_costs.get(name)


_COLUMNS = ("genome", "status", "error", "params", "madds", "message", "duration", "seed", "generation",
            "started", "finished", "costs", "predicted_error", "predictor")
# columns added after the first archives were written: (name, SQL type), added to an older archive on open
_ADDED = (("costs", "TEXT"), ("predicted_error", "REAL"), ("predictor", "TEXT"))


class Archive:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(self.path)
            self.db.executescript(_SCHEMA)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(evaluations)")}
            for name, kind in _ADDED:  # archives written before these columns existed
                if name not in columns:
                    with self.db:
                        self.db.execute(f"ALTER TABLE evaluations ADD COLUMN {name} {kind}")
            version = self.get_meta("schema_version")
            if version is None:
                self.set_meta("schema_version", SCHEMA_VERSION)
            elif version != SCHEMA_VERSION:
                raise ArchiveError(f"{self.path}: archive schema version {version}, this muxnet reads "
                                   f"{SCHEMA_VERSION}")
        except sqlite3.DatabaseError as err:
            raise ArchiveError(f"{self.path}: not a readable search archive ({err})") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- configuration -----------------------------------------------------------------------------------------
    def get_meta(self, key: str):
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_meta(self, key: str, value) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    # -- evaluations ---------------------------------------------------------------------------------------------
    def add(self, evaluation: Evaluation) -> None:
        """Insert and commit at once; a second row for the same genome is refused (never re-evaluated)."""
        values = tuple(getattr(evaluation, c) for c in _COLUMNS)
        with self.db:
            self.db.execute(f"INSERT INTO evaluations ({', '.join(_COLUMNS)}) VALUES "
                            f"({', '.join('?' * len(_COLUMNS))})", values)

    def get(self, genome: str) -> Evaluation | None:
        row = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM evaluations WHERE genome = ?",
                              (genome,)).fetchone()
        return None if row is None else Evaluation(*row)

    def all(self) -> list[Evaluation]:
        rows = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM evaluations ORDER BY id").fetchall()
        return [Evaluation(*row) for row in rows]

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0]

    def __contains__(self, genome: str) -> bool:
        return self.get(genome) is not None


def now() -> float:
    return time.time()


__all__ = ["Archive", "ArchiveError", "Evaluation"]
