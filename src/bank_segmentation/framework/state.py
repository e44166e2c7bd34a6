"""The project's state files, checked before a run does any work: the MLflow store and the Optuna study.

A damaged SQLite file used to surface as "file is not a database" deep in a traceback, without its name,
and for the study only after minutes of work. Each file is checked at start (its header and SQLite's quick
check); a damaged one stops the run with its name and what to do, exit code 2.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from bank_segmentation.core.errors import SegmentationError
from bank_segmentation.framework.locking import sqlite_path

logger = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
ARTIFACTS_DIR = "mlruns"
# The columns where the local MLflow store keeps absolute artifact paths.
ARTIFACT_COLUMNS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("model_versions", "storage_location"),
    ("logged_models", "artifact_location"),
)


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
        # Read-write (never create): a writer killed mid-transaction leaves a hot journal that only a
        # connection allowed to write can roll back; a read-only one reports "attempt to write a readonly
        # database" for a file that is sound.
        with sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30) as db:
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


def relocate_artifact_root(store: Path, project: Path) -> str | None:
    """Point a local MLflow store at the ``mlruns`` folder beside it after the project folder moved.

    MLflow records absolute artifact paths: in a copied or moved project they still point at the old folder, so
    new artifacts would land there (or nowhere). When the store lies in ``project`` and its experiments point
    at another folder's ``mlruns``, every recorded path is rewritten to this folder's; returns the old root.
    """
    if not store.exists() or store.stat().st_size == 0 or store.resolve().parent != project.resolve():
        return None
    new_root = str(project.resolve() / ARTIFACTS_DIR)
    with sqlite3.connect(store, timeout=60) as db:
        locations = [row[0] for row in db.execute("SELECT artifact_location FROM experiments") if row[0]]
        old_roots = {_artifact_root(location) for location in locations} - {None, new_root}
        if not old_roots:
            return None
        for old_root in old_roots:
            for table, column in ARTIFACT_COLUMNS:
                db.execute(
                    f"UPDATE {table} SET {column} = ? || substr({column}, ?) WHERE substr({column}, 1, ?) = ?",
                    (new_root, len(old_root) + 1, len(old_root), old_root),
                )
    logger.warning(
        "the project folder moved: MLflow artifact paths now point to %s (were %s)",
        new_root,
        ", ".join(sorted(old_roots)),
    )
    return ", ".join(sorted(old_roots))


def _artifact_root(location: str) -> str | None:
    """The local ``.../mlruns`` folder an artifact location lies in (``None`` for a remote store)."""
    path = location.removeprefix("file://")
    if not path.startswith("/") or f"/{ARTIFACTS_DIR}" not in path:
        return None
    return path[: path.index(f"/{ARTIFACTS_DIR}") + len(ARTIFACTS_DIR) + 1]
