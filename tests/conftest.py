"""Shared fixtures: a throw-away copy of the project and a real Kedro runner."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from bank_segmentation.framework.quiet import THIRD_PARTY_WARNINGS
from tests.workspace import copy_project

REPO_ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")


# Fixtures that run the project in a copy, and how heavy a test that uses one is (a full default run: 3).
END_TO_END_WEIGHTS = {
    "project_copy": 1,
    "demo_run": 3,
    "real_run": 3,
    "full_run": 3,
    "first_published_run": 3,
    "trained_demo": 2,
    "other_bank": 2,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The heaviest files first: with one worker per file (xdist), the longest start first and none is last."""
    weight: Counter[str] = Counter()
    for item in items:
        weight[item.module.__name__] += max((END_TO_END_WEIGHTS.get(f, 0) for f in item.fixturenames), default=0)
    items.sort(key=lambda item: -weight[item.module.__name__])  # stable: a file's tests stay together, in order


def pytest_configure(config: pytest.Config) -> None:
    """Silence the dependency warnings a clean ``kedro run`` silences too (one list for both)."""
    for message, category in THIRD_PARTY_WARNINGS:
        config.addinivalue_line("filterwarnings", f"ignore:{message}:{category.__name__}")


def real_table_path() -> Path | None:
    """Where the real CC GENERAL table lies, if this machine has it."""
    candidates = [os.environ.get("CC_GENERAL_CSV"), REPO_ROOT.parent / "shared/data/cc_general.csv"]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


@pytest.fixture(scope="session")
def real_table() -> Path:
    """Path of the real CC GENERAL table; the test skips when it is absent."""
    path = real_table_path()
    if path is None:
        pytest.skip("real CC GENERAL table absent (../shared/data/cc_general.csv or $CC_GENERAL_CSV)")
    return path


def make_project_copy(destination: Path) -> Path:
    """A fresh copy of this repository's project at ``destination`` (see ``copy_project``)."""
    return copy_project(REPO_ROOT, destination)


@pytest.fixture
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the project in a temp folder, made the working directory.

    Outputs, the MLflow SQLite store and the Optuna study land in the copy, never in the repo.
    """
    project = make_project_copy(tmp_path / "project")
    monkeypatch.chdir(project)
    # Absolute: MLflow caches one SQLite engine per URI string, so a relative URI would keep writing to
    # the first test's copy.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project / 'mlflow.db'}")
    return project


def end_active_mlflow_runs() -> None:
    """Close every MLflow run left open in this process (kedro-mlflow reopens its run for each node)."""
    while mlflow.active_run() is not None:
        mlflow.end_run()


RunPipeline = Callable[..., dict[str, Any]]


@pytest.fixture
def run_pipeline(project_copy: Path) -> RunPipeline:
    """Run pipelines of the project copy through the real Kedro session and runner."""

    def _run(pipelines: list[str] | None = None, params: dict[str, Any] | None = None) -> dict[str, Any]:
        bootstrap_project(project_copy)
        end_active_mlflow_runs()
        try:
            with KedroSession.create(project_path=project_copy, runtime_params=params or {}) as session:
                return session.run(pipeline_names=pipelines)
        finally:
            end_active_mlflow_runs()

    return _run


def run_default(
    project: Path, params: dict[str, Any], pipelines: list[str] | None = None, env: str | None = None
) -> None:
    """``kedro run`` (the default pipeline, or ``pipelines``; ``--env``) in ``project`` through the real session."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project / 'mlflow.db'}")
        bootstrap_project(project)
        end_active_mlflow_runs()
        try:
            with KedroSession.create(project_path=project, env=env, runtime_params=params) as session:
                session.run(pipeline_names=pipelines)
        finally:
            end_active_mlflow_runs()


def read_output(project: Path, relative: str) -> pd.DataFrame:
    """Read a tabular output of a run by its path under the project."""
    path = project / relative
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


KEDRO = Path(sys.executable).with_name("kedro")
SERVER_START_SECONDS = 90


def kedro_command(project: Path, *args: str, tracking_uri: str | None = None) -> tuple[list[str], dict[str, str]]:
    """Command line and environment of ``kedro run`` in ``project``, tracking in the project's own store."""
    env = {**os.environ, "COLUMNS": "200", "MLFLOW_TRACKING_URI": tracking_uri or f"sqlite:///{project / 'mlflow.db'}"}
    return [str(KEDRO), "run", *args], env


def kedro_run(project: Path, *args: str, tracking_uri: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``kedro run`` in ``project`` from a shell, as a user would."""
    command, env = kedro_command(project, *args, tracking_uri=tracking_uri)
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=600)


class BackgroundRun:
    """``kedro run`` started in the background, its output going to a file.

    To a file, as a terminal takes it: an unread pipe fills up and stalls the run (and, holding a lock, the runs
    beside it).
    """

    def __init__(self, project: Path, *args: str, name: str = "run", tracking_uri: str | None = None) -> None:
        command, env = kedro_command(project, *args, tracking_uri=tracking_uri)
        stem = f"{name}.{len(list(project.glob(f'{name}.*.stderr')))}"
        self.log = project / f"{stem}.stderr"
        with self.log.open("w") as err, (project / f"{stem}.stdout").open("w") as out:
            self.process = subprocess.Popen(command, cwd=project, env=env, stdout=out, stderr=err)

    @property
    def output(self) -> str:
        """What the run has written to stderr so far (its logs and messages)."""
        return self.log.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        """The exit code; a run still going after ``timeout`` seconds is killed and fails the test."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the run did not end within {timeout:.0f} s: {self.output[-3000:]}") from None


def free_local_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    """Whether ``url`` answers an HTTP GET at all."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def mlflow_server(store: Path) -> Iterator[str]:
    """A real ``mlflow server`` on 127.0.0.1 over the SQLite ``store``; its base URL, stopped on exit."""
    port = free_local_port()
    command = [str(KEDRO.with_name("mlflow")), "server", "--backend-store-uri", f"sqlite:///{store}"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    server = subprocess.Popen(command, cwd=store.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not answers(f"{base}/health"):
            assert server.poll() is None and time.monotonic() < deadline, "mlflow server did not start"
            time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
