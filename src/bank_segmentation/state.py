"""The project's state files, checked before a run does any work: the MLflow store and the Optuna study.

A damaged SQLite file used to surface as "file is not a database" deep in a traceback, without its name,
and for the study only after minutes of work. Each file is checked at start (its header and SQLite's quick
check); a damaged one stops the run with its name and what to do, exit code 2.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bank_segmentation.errors import SegmentationError
from bank_segmentation.locking import sqlite_path

SQLITE_HEADER = b"SQLite format 3\x00"


class StateFileError(SegmentationError):
    """A state file of the project (MLflow store, Optuna study) is damaged."""


def sqlite_problem(path: Path) -> str | None:
    """Why the SQLite file at ``path`` cannot be used, or ``None`` when it is sound (or absent)."""
    if not path.exists():
        return None
    if path.stat().st_size == 0:
        return None  # an empty file is an empty database: the store creates its tables in it
    with path.open("rb") as handle:
        if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            return "it is not a SQLite database (its first bytes are not the SQLite header)"
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as error:
        return f"SQLite cannot read it ({error})"
    return None if verdict == "ok" else f"SQLite's integrity check fails ({verdict})"


def check_state_file(url: str, what: str, remedy: str) -> None:
    """Stop with a clear message when the SQLite file behind ``url`` is damaged (other URLs: nothing to do)."""
    path = sqlite_path(url) if url.startswith("sqlite:") else None
    if path is None:
        return
    problem = sqlite_problem(path)
    if problem is not None:
        raise StateFileError(f"{what} {path} is damaged: {problem}. {remedy}")


MLFLOW_REMEDY = (
    "It holds the experiment history. Restore it from a backup, or move it away (e.g. `mv mlflow.db "
    "mlflow.db.damaged`) and rerun: a new, empty store is created."
)
OPTUNA_REMEDY = (
    "It holds the hyper-parameter study. Restore it from a backup, or move it away and rerun: the study starts "
    "afresh (tuning.study.storage in parameters_tuning.yml)."
)
