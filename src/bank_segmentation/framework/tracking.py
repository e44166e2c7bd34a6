"""The one MLflow helper: nested runs under the active (kedro-mlflow) run, batched logging, models.

Thread-safe by design: capture the parent once with :func:`parent_run` in the thread that runs the node
(MLflow's fluent active-run stack is thread-local), then call :func:`log_nested_run` from any thread.
Nested runs are created with ``MlflowClient`` and the ``mlflow.parentRunId`` tag, and each run's params,
metrics and tags go in one ``log_batch`` call. When no run is active (tracking disabled) every function
is a no-op that says so in a debug log.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from bank_segmentation.framework.quiet import quiet_logger

logger = logging.getLogger(__name__)

PARENT_TAG = "mlflow.parentRunId"
RUN_NAME_TAG = "mlflow.runName"
DESCRIPTION_TAG = "mlflow.note.content"  # the run's Description in the UI
# The MLflow UI (3.x) opens an experiment on the view of its kind; without the tag it guesses, often GenAI.
# PRIVATE API (tests/test_private_api.py): the tag is a convention of the UI's JavaScript, not a Python API.
EXPERIMENT_KIND_TAG, MODEL_TRAINING_KIND = "mlflow.experimentKind", "custom_model_development"
WORKFLOW_PARAMETER, MODEL_TRAINING_WORKFLOW = "workflowType", "machine_learning"
MAX_PARAM_LENGTH = 6000
# MLflow's limits per log_batch request
BATCH_METRICS, BATCH_PARAMS, BATCH_TAGS = 1000, 100, 100

_LOCAL_STORE_LOCK = threading.Lock()


@dataclass(frozen=True)
class ParentRun:
    """Where nested runs go: the parent run id, its experiment and the tracking store."""

    run_id: str
    experiment_id: str
    tracking_uri: str


@dataclass
class NestedRun:
    """One nested run to log: a name, params, metrics and tags."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, Any] = field(default_factory=dict)


def parent_run() -> ParentRun | None:
    """The run active in this thread (kedro-mlflow's pipeline run), or ``None`` when tracking is off."""
    run = mlflow.active_run()
    if run is None:
        logger.debug("no active MLflow run: tracking is disabled, nothing will be logged")
        return None
    return ParentRun(run.info.run_id, run.info.experiment_id, mlflow.get_tracking_uri())


@functools.lru_cache(maxsize=8)
def _client(tracking_uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=tracking_uri)


def _lock_for(tracking_uri: str) -> Any:
    """Serialise writes to a local (SQLite/file) store; remote servers handle concurrency themselves."""
    is_local = tracking_uri.startswith(("sqlite:", "file:")) or "://" not in tracking_uri
    return _LOCAL_STORE_LOCK if is_local else _NullLock()


class _NullLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def log_nested_run(run: NestedRun, parent: ParentRun | None = None) -> str | None:
    """Create one finished nested run under ``parent`` (default: the active run); return its id."""
    parent = parent or parent_run()
    if parent is None:
        logger.debug("tracking disabled: nested run %r not logged", run.name)
        return None
    client = _client(parent.tracking_uri)
    tags = {PARENT_TAG: parent.run_id, RUN_NAME_TAG: run.name, **{k: str(v) for k, v in run.tags.items()}}
    with _lock_for(parent.tracking_uri):
        created = client.create_run(parent.experiment_id, tags=tags, run_name=run.name)
        run_id = created.info.run_id
        _log_batch(client, run_id, run.params, run.metrics, {})
        client.set_terminated(run_id)
    return run_id


def log_nested_runs(runs: Iterable[NestedRun], parent: ParentRun | None = None) -> list[str]:
    """Log several nested runs under ``parent`` (default: the active run); return their ids."""
    parent = parent or parent_run()
    if parent is None:
        logger.debug("tracking disabled: nested runs not logged")
        return []
    return [run_id for run in runs if (run_id := log_nested_run(run, parent)) is not None]


def log_to_parent(
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    tags: Mapping[str, Any] | None = None,
    parent: ParentRun | None = None,
) -> None:
    """Log params, metrics and tags on the parent run in batches."""
    parent = parent or parent_run()
    if parent is None:
        logger.debug("tracking disabled: parent-run values not logged")
        return
    with _lock_for(parent.tracking_uri):
        _log_batch(_client(parent.tracking_uri), parent.run_id, params or {}, metrics or {}, tags or {})


def runs_table_route(experiment_id: str) -> str:
    """The UI route of an experiment's runs table in the model-training view.

    MLflow 3 remembers one GenAI / Model training switch per browser, GenAI at first; the URL's
    ``workflowType`` wins over it. PRIVATE API (tests/test_private_api.py): a route of the UI, not a Python API.
    """
    return f"#/experiments/{experiment_id}/runs?{WORKFLOW_PARAMETER}={MODEL_TRAINING_WORKFLOW}"


def mark_model_training_experiment(parent: ParentRun | None = None) -> None:
    """Tag the active run's experiment as model training, so the MLflow UI opens it on its runs table."""
    parent = parent or parent_run()
    if parent is None:
        return
    client = _client(parent.tracking_uri)
    with _lock_for(parent.tracking_uri):
        experiment = client.get_experiment(parent.experiment_id)
        if experiment.tags.get(EXPERIMENT_KIND_TAG) != MODEL_TRAINING_KIND:
            client.set_experiment_tag(parent.experiment_id, EXPERIMENT_KIND_TAG, MODEL_TRAINING_KIND)


def log_artifact(local_path: Path | str, artifact_path: str | None = None, parent: ParentRun | None = None) -> None:
    """Log one local file as an artifact of the parent run."""
    parent = parent or parent_run()
    if parent is None:
        logger.debug("tracking disabled: artifact %s not logged", local_path)
        return
    with _lock_for(parent.tracking_uri):
        _client(parent.tracking_uri).log_artifact(parent.run_id, str(local_path), artifact_path)


def _log_batch(
    client: MlflowClient,
    run_id: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    tags: Mapping[str, Any],
) -> None:
    timestamp = int(time.time() * 1000)
    metric_list = [Metric(k, float(v), timestamp, 0) for k, v in metrics.items() if v is not None]
    param_list = [Param(k, str(v)[:MAX_PARAM_LENGTH]) for k, v in params.items()]
    tag_list = [RunTag(k, str(v)[:MAX_PARAM_LENGTH]) for k, v in tags.items()]
    while metric_list or param_list or tag_list:
        client.log_batch(
            run_id,
            metrics=metric_list[:BATCH_METRICS],
            params=param_list[:BATCH_PARAMS],
            tags=tag_list[:BATCH_TAGS],
        )
        metric_list = metric_list[BATCH_METRICS:]
        param_list = param_list[BATCH_PARAMS:]
        tag_list = tag_list[BATCH_TAGS:]


def outage(error: BaseException) -> str | None:
    """What the tracking server answered (or did not) when that is what stopped a run, else ``None``."""
    from mlflow.exceptions import MlflowException

    from bank_segmentation.core.errors import find_in_chain

    found = find_in_chain(error, MlflowException)
    if found is None or "API request to" not in str(found):
        return None
    return str(found).splitlines()[0][:300]


def active_run_id() -> str | None:
    """The id of the run active in this thread, or ``None`` when tracking is off."""
    run = mlflow.active_run()
    return None if run is None else run.info.run_id


def fail_active_run(message: str) -> None:
    """Mark the active run FAILED with ``message`` as its ``error`` tag and end it (publishing failed after
    every node succeeded, so kedro-mlflow would otherwise close it as FINISHED)."""
    if mlflow.active_run() is None:
        return
    mlflow.set_tag("error", message[:5000])
    while mlflow.active_run() is not None:  # kedro-mlflow may have the run open more than once
        mlflow.end_run(status="FAILED")


RUN_OWNER_TAGS = ("run_version", "host", "pid")


def tag_active_run_owner(version: str) -> None:
    """Tag the active run with the process that owns it, so that a later run can tell whether it died."""
    if mlflow.active_run() is not None:
        mlflow.set_tags({"run_version": version, "host": socket.gethostname(), "pid": str(os.getpid())})


def close_dead_runs() -> list[str]:
    """Mark KILLED the RUNNING runs of this host whose process no longer exists (killed runs stay RUNNING
    forever otherwise), in a local store; runs of other hosts, or of processes still alive, are left alone."""
    uri = mlflow.get_tracking_uri()
    if not uri.startswith(("sqlite:", "file:")):
        return []  # a shared server is left alone: its runs may belong to other machines, and it may be down
    client = _client(uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return []
    host = socket.gethostname().replace("'", "")
    running = client.search_runs(
        experiments, filter_string=f"attributes.status = 'RUNNING' and tags.host = '{host}'", max_results=1000
    )
    closed = []
    for run in running:
        if _process_alive(int(run.data.tags.get("pid", "0"))):
            continue
        client.set_tag(run.info.run_id, "error", "the process ended without closing the run (killed or crashed)")
        client.set_terminated(run.info.run_id, status="KILLED")
        closed.append(run.info.run_id)
    if closed:
        logger.warning("closed %d MLflow run(s) left RUNNING by a killed process: %s", len(closed), closed)
    return closed


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def register_model(model_uri: str, name: str) -> dict[str, Any]:
    """Register a logged model under ``name``; the new version's name and number."""
    # PRIVATE API (tests/test_private_api.py): the "Created version" chatter comes from a private module's logger.
    # mlflow.register_model prints "Registered model ... Creating a new version" to stderr: to the log file instead
    printed = io.StringIO()
    with (
        quiet_logger("mlflow.tracking._model_registry.client"),
        quiet_logger("mlflow.store.model_registry"),
        contextlib.redirect_stderr(printed),
    ):
        version = mlflow.register_model(model_uri, name)
    if printed.getvalue().strip():
        logger.info("mlflow: %s", " ".join(printed.getvalue().split()))
    return {"name": name, "version": str(version.version)}


def delete_model_version(name: str, version: str) -> None:
    """Remove a model version registered by a run whose publishing then failed."""
    with contextlib.suppress(Exception):  # best effort: the run is failing already
        MlflowClient(mlflow.get_tracking_uri()).delete_model_version(name, version)


def move_alias(name: str, alias: str, version: str) -> str | None:
    """Point ``alias`` of registered model ``name`` at ``version``; the version it pointed at before, if any."""
    client = MlflowClient(mlflow.get_tracking_uri())
    try:
        previous = str(client.get_model_version_by_alias(name, alias).version)
    except mlflow.exceptions.MlflowException:
        previous = None  # the first version with this alias
    client.set_registered_model_alias(name, alias, version)
    return previous


def restore_alias(name: str, alias: str, version: str | None) -> None:
    """Point ``alias`` back at ``version`` after a failed publication (best effort: the run is failing)."""
    if version is None:
        return  # deleting the failed version removed the alias with it
    with contextlib.suppress(Exception):
        MlflowClient(mlflow.get_tracking_uri()).set_registered_model_alias(name, alias, version)


def log_python_model(name: str, model: Mapping[str, Any], tags: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Log an MLflow pyfunc model (``model``: the arguments of ``mlflow.pyfunc.log_model``) on the parent run,
    unregistered: the project registers it at publishing, once the whole run has succeeded. ``{}`` when
    tracking is off."""
    parent = parent_run()
    if parent is None:
        logger.debug("tracking disabled: model %r not logged", name)
        return {}
    # MLflow warns that pip itself is absent from uv environments; harmless with explicit requirements.
    with quiet_logger("mlflow.utils.environment"):
        info = mlflow.pyfunc.log_model(name=name, tags={k: str(v) for k, v in (tags or {}).items()} or None, **model)
    return {"run_id": parent.run_id, "model_uri": info.model_uri, "model_id": getattr(info, "model_id", None)}
