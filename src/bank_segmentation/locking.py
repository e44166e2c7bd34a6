"""Create a local SQLite store exactly once, even when several runs start at the same moment."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator
from pathlib import Path


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
    """The file behind a ``sqlite:///`` URL (relative to the working directory), else ``None``."""
    prefix = "sqlite:///"
    return Path(url[len(prefix) :]) if url.startswith(prefix) and url != prefix else None


def initialise_sqlite_once(url: str, initialise: Callable[[], object]) -> None:
    """Run ``initialise`` (schema creation) under a lock, so concurrent first runs never both create it.

    Two processes creating the same fresh SQLite database at once can corrupt it for good; once it exists,
    SQLite serialises concurrent writers itself. ``initialise`` must be idempotent: it runs on every
    call, each time under the lock.
    """
    path = sqlite_path(url)
    if path is None:
        initialise()
        return
    with exclusive_file_lock(path.with_name(path.name + ".lock")):
        initialise()
