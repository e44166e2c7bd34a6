"""An interrupted tuning run (Ctrl-C) leaves a study that the next run resumes."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from tests.conftest import kedro_command, kedro_run

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
    command, env = kedro_command(
        project_copy, "--pipelines", "data_processing,tuning", "--params", "tuning.study.n_trials=200"
    )
    # stderr to a file, as a terminal takes it: an unread pipe fills up and stalls the run it watches
    log = project_copy / "interrupted_run.log"
    with log.open("w") as stderr:
        run = subprocess.Popen(command, cwd=project_copy, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + 400
    while trial_counts(project_copy).get("COMPLETE", 0) < 3:
        assert run.poll() is None, f"the run ended before it was interrupted: {log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, "no tuning trial completed in time"
        time.sleep(1)
    run.send_signal(signal.SIGINT)
    try:
        run.wait(timeout=120)
    except subprocess.TimeoutExpired:
        run.kill()
        raise AssertionError(f"Ctrl-C did not stop the run within 120 s: {log.read_text()[-3000:]}") from None
    assert run.returncode != 0
    completed_before = trial_counts(project_copy).get("COMPLETE", 0)
    assert completed_before < 200

    resumed = kedro_run(project_copy, "--pipelines", "data_processing,tuning", "--params", "tuning.study.n_trials=3")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert trial_counts(project_copy).get("COMPLETE", 0) >= completed_before + 3
    with sqlite3.connect(project_copy / STUDY_DB) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT COUNT(*) FROM studies").fetchone() == (1,)
