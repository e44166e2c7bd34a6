"""A Kedro session whose save version no other run of the same project shares."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kedro.framework.session import KedroSession
from kedro.io.core import generate_timestamp
from kedro.utils import find_kedro_project

# Where each run claims its save version; one empty folder per run.
CLAIMS_DIR = Path("data") / ".run_versions"
RETRY_SECONDS = 0.002


class UniqueVersionSession(KedroSession):
    """Kedro's session, with a save version claimed atomically on disk.

    Versions are millisecond timestamps: two runs started in the same millisecond (two analysts, a
    scheduler) would write the same versioned paths and the second would fail. Claiming the version by
    creating a folder (atomic) and drawing a new timestamp when it is taken makes every run's unique.
    """

    @classmethod
    def create(cls, project_path: Path | str | None = None, **kwargs: Any) -> UniqueVersionSession:
        project = Path(project_path) if project_path is not None else find_kedro_project(Path.cwd())
        session = super().create(project_path=project, **kwargs)
        claims = Path(project or Path.cwd()) / CLAIMS_DIR
        claims.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                (claims / session.session_id).mkdir()
                return session
            except FileExistsError:
                time.sleep(RETRY_SECONDS)
                session.session_id = generate_timestamp()
                # PRIVATE API (tests/test_private_api.py): Kedro has no setter for the session id it records;
                # `store` is a read-only copy of `_store`.
                session._store["session_id"] = session.session_id
