"""Create a local SQLite store exactly once, even when several runs start at the same moment."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy.engine import make_url


@contextlib.contextmanager
def exclusive_file_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``lock_path`` (created if absent) for the block."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def sqlite_path(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL (relative paths against the working directory), else ``None``."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


@contextlib.contextmanager
def sqlite_initialisation_lock(url: str) -> Iterator[None]:
    """Serialise, across processes, the creation of the SQLite database behind ``url`` (no-op otherwise).

    Two processes creating the same fresh SQLite database at once can corrupt it for good, or fail on
    "database is locked"; once it exists, SQLite serialises concurrent writers itself.
    """
    path = sqlite_path(url)
    if path is None:
        yield
        return
    with exclusive_file_lock(path.with_name(path.name + ".lock")):
        yield


def initialise_sqlite_once(url: str, initialise: Callable[[], object]) -> None:
    """Run ``initialise`` (idempotent schema creation) under :func:`sqlite_initialisation_lock`."""
    with sqlite_initialisation_lock(url):
        initialise()
