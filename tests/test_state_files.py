"""State files and tracking faults found at start: damaged stores, killed runs, a half-working server."""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from bank_segmentation.framework.state import sqlite_problem
from tests.conftest import SERVER_START_SECONDS, BackgroundRun, kedro_command, kedro_run, mlflow_server

FAST = ("--pipelines", "data_processing")


@pytest.mark.parametrize(
    ("relative", "what"),
    [("mlflow.db", "The MLflow tracking store"), ("data/06_models/optuna.db", "The Optuna study")],
)
def test_a_damaged_state_file_stops_the_run_at_once_naming_it(project_copy: Path, relative: str, what: str):
    damaged = project_copy / relative
    damaged.parent.mkdir(parents=True, exist_ok=True)
    damaged.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))  # a header, then garbage: a torn copy
    start = time.monotonic()
    result = kedro_run(project_copy, *FAST)
    assert result.returncode == 2, result.stderr[-2000:]
    assert time.monotonic() - start < 60
    assert f"{what} {relative}" in result.stderr or f"{what} {damaged}" in result.stderr
    assert "move it away" in result.stderr and "Traceback" not in result.stderr
    assert not (project_copy / "data/05_model_input/model_input.parquet").exists()  # no work was done


def test_a_killed_run_is_closed_as_killed_by_the_next_run(project_copy: Path):
    command, env = kedro_command(project_copy, "--params", "tuning.study.n_trials=200")
    run = subprocess.Popen(command, cwd=project_copy, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not _running_runs(project_copy):
        assert run.poll() is None and time.monotonic() < deadline, "no MLflow run started"
        time.sleep(0.5)
    time.sleep(2)  # the owner tags come with the first node
    os.kill(run.pid, signal.SIGKILL)
    run.wait(timeout=60)
    (killed,) = _running_runs(project_copy)

    after = kedro_run(project_copy, *FAST)
    assert after.returncode == 0, after.stderr[-2000:]
    client = MlflowClient(f"sqlite:///{project_copy / 'mlflow.db'}")
    closed = client.get_run(killed)
    assert closed.info.status == "KILLED" and "killed" in closed.data.tags["error"]
    assert not _running_runs(project_copy)


# A writer killed in the middle of a transaction whose changes spilled into the file: SQLite leaves a hot journal.
_KILLED_WRITER = """
import os, signal, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("CREATE TABLE runs (payload BLOB)")
db.execute("INSERT INTO runs VALUES (randomblob(100000))")
db.execute("PRAGMA cache_size = 1")
db.execute("BEGIN")
for _ in range(100):
    db.execute("INSERT INTO runs VALUES (randomblob(10000))")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_store_left_by_a_killed_writer_is_sound_and_rolled_back(tmp_path: Path):
    store = tmp_path / "mlflow.db"
    subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(store)], check=False)
    assert (tmp_path / "mlflow.db-journal").exists()  # the interrupted transaction is still pending

    assert sqlite_problem(store) is None
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 1  # only what was committed


def _running_runs(project: Path) -> list[str]:
    path = project / "mlflow.db"
    if not path.exists():
        return []
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return [row[0] for row in db.execute("SELECT run_uuid FROM runs WHERE status = 'RUNNING'")]
    except sqlite3.OperationalError:
        return []


class _HalfWorkingServer(http.server.BaseHTTPRequestHandler):
    """/health answers; the API fails (``mode = "error"``) or hangs (``mode = "hang"``)."""

    mode = "error"

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.path.startswith("/health"):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"OK")
        elif self.mode == "hang":
            time.sleep(30)
        else:
            self.send_response(500)
            self.end_headers()

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(params=["error", "hang"])
def half_working_server(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("Handler", (_HalfWorkingServer,), {"mode": request.param})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_server_whose_api_fails_stops_the_run_quickly_with_guidance(project_copy: Path, half_working_server: str):
    start = time.monotonic()
    result = kedro_run(project_copy, *FAST, tracking_uri=half_working_server)
    assert result.returncode == 2, result.stderr[-2000:]
    assert time.monotonic() - start < 30
    assert "does not answer" in result.stderr and "tracking.on_unreachable=continue" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_copied_project_keeps_its_artifacts_inside_it(project_copy: Path, tmp_path: Path):
    first = kedro_run(project_copy, "--params", "model_choice.mode=pinned,model_choice.pinned.k=5")
    assert first.returncode == 0, first.stderr[-2000:]
    copy = tmp_path / "copied"
    shutil.copytree(project_copy, copy)
    original_files = sorted(p for p in (project_copy / "mlruns").rglob("*") if p.is_file())

    again = kedro_run(copy, "--params", "model_choice.mode=pinned,model_choice.pinned.k=6")
    assert again.returncode == 0, again.stderr[-2000:]
    assert sorted(p for p in (project_copy / "mlruns").rglob("*") if p.is_file()) == original_files
    client = MlflowClient(f"sqlite:///{copy / 'mlflow.db'}")
    for run in client.search_runs([e.experiment_id for e in client.search_experiments()]):
        assert run.info.artifact_uri.startswith(str(copy.resolve() / "mlruns")), run.info.artifact_uri
    newest = max(int(v.version) for v in client.search_model_versions("name='bank-segmentation'"))
    location = client.get_model_version_download_uri("bank-segmentation", str(newest))
    assert Path(location).is_relative_to(copy.resolve()), location


def test_a_server_lost_mid_run_stops_the_run_quickly_and_publishes_nothing(project_copy: Path, tmp_path: Path):
    deadline = time.monotonic() + SERVER_START_SECONDS + 120
    with mlflow_server(tmp_path / "server.db") as uri:  # stopped when the run has reached its model input
        run = BackgroundRun(project_copy, tracking_uri=uri)
        while not list((project_copy / "data/runs").glob("*/data/05_model_input/model_input.parquet")):
            assert run.process.poll() is None and time.monotonic() < deadline, run.output[-2000:]
            time.sleep(0.2)
    lost = time.monotonic()
    returncode = run.wait(timeout=300)
    stderr = run.output
    assert returncode == 2, stderr[-3000:]
    assert time.monotonic() - lost < 45
    assert "stopped answering during the run" in stderr and "tracking.on_unreachable=continue" in stderr
    assert "Traceback" not in stderr and len(stderr.splitlines()) < 40
    assert not (project_copy / "data/published.json").exists()
