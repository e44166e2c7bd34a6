"""An interrupted tuning run (Ctrl-C) leaves a study that the next run resumes."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

from tests.conftest import BackgroundRun, kedro_run

STUDY_DB = "data/06_models/optuna.db"


def trial_counts(project: Path) -> dict[str, int]:
    """Trials per state in the project's Optuna study database (empty before it exists)."""
    path = project / STUDY_DB
    if not path.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return dict(db.execute("SELECT state, COUNT(*) FROM trials GROUP BY state").fetchall())
    except sqlite3.OperationalError:  # tables not created yet
        return {}


def test_ctrl_c_during_tuning_leaves_a_study_the_next_run_continues(project_copy: Path):
    run = BackgroundRun(project_copy, "--pipelines", "data_processing,tuning", "--params", "tuning.study.n_trials=200")
    deadline = time.monotonic() + 400
    while trial_counts(project_copy).get("COMPLETE", 0) < 3:
        assert run.process.poll() is None, f"the run ended before it was interrupted: {run.output[-2000:]}"
        assert time.monotonic() < deadline, "no tuning trial completed in time"
        time.sleep(1)
    run.process.send_signal(signal.SIGINT)
    assert run.wait(timeout=120) != 0
    completed_before = trial_counts(project_copy).get("COMPLETE", 0)
    assert completed_before < 200

    resumed = kedro_run(project_copy, "--pipelines", "data_processing,tuning", "--params", "tuning.study.n_trials=3")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert trial_counts(project_copy).get("COMPLETE", 0) >= completed_before + 3
    with sqlite3.connect(project_copy / STUDY_DB) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT COUNT(*) FROM studies").fetchone() == (1,)
