"""Project hooks: kedro-mlflow's hook made safe for shared servers and concurrent first runs."""

from __future__ import annotations

import logging
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import mlflow
from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook
from kedro_mlflow.io.catalog.switch_catalog_logging import switch_catalog_logging
from mlflow.tracking import MlflowClient

from bank_segmentation.core.errors import SegmentationError, tracking_safe_message
from bank_segmentation.framework import tracking
from bank_segmentation.framework.locking import initialise_sqlite_once, sqlite_path
from bank_segmentation.framework.parameters import check_parameters, fit_catalog_parameters, plain
from bank_segmentation.framework.state import MLFLOW_REMEDY, OPTUNA_REMEDY, check_state_file, relocate_artifact_root
from bank_segmentation.framework.story import STORY_LOGGER

logger = logging.getLogger(__name__)
story = logging.getLogger(STORY_LOGGER)

MLFLOW_CONFIG_PATTERNS = ["mlflow*", "mlflow*/**", "**/mlflow*"]
MAX_ERROR_TAG_LENGTH = 5000


class TrackingUnavailableError(SegmentationError):
    """The MLflow tracking server does not answer."""


def _tracking_settings(context: KedroContext) -> tuple[str, str, dict[str, Any]]:
    """The tracking URI and experiment from mlflow.yml (or the environment), and ``params:tracking``."""
    context.config_loader.config_patterns.setdefault("mlflow", MLFLOW_CONFIG_PATTERNS)
    conf = context.config_loader["mlflow"]
    uri = conf.get("server", {}).get("mlflow_tracking_uri") or os.environ.get("MLFLOW_TRACKING_URI", "")
    experiment = conf.get("tracking", {}).get("experiment", {}).get("name") or "bank-customer-segmentation"
    return str(uri), str(experiment), context.config_loader["parameters"].get("tracking", {})


def server_unreachable_reason(uri: str, timeout: float) -> str | None:
    """Why an http(s) tracking server cannot be used, or ``None`` when it answers.

    Its health check and one cheap API call must both answer within ``timeout`` seconds: a server whose
    ``/health`` answers while its API hangs or fails (5xx) is as unusable as one that is down.
    """
    base = uri.rstrip("/")
    for url in (f"{base}/health", f"{base}/api/2.0/mlflow/experiments/search?max_results=1"):
        try:
            with urllib.request.urlopen(url, timeout=timeout):
                pass
        except urllib.error.HTTPError as exc:
            if exc.code >= 500:
                return f"{url} answered HTTP {exc.code}"
            # 4xx: it answers; authentication and routing are MLflow's business
        except (OSError, ValueError) as exc:
            return f"{url}: {getattr(exc, 'reason', exc)}"
    return None


def _prepare_local_store(uri: str, experiment: str, project: Path) -> None:
    """Keep a moved project's artifacts inside it, then create the tables and the experiment if needed."""
    store = sqlite_path(uri)
    if store is not None:
        relocate_artifact_root(store, project)
    _create_store_and_experiment(uri, experiment)


def _create_store_and_experiment(uri: str, experiment: str) -> None:
    """Create the SQLite tables and the experiment if they do not exist yet."""
    client = MlflowClient(tracking_uri=uri)
    if client.get_experiment_by_name(experiment) is None:
        client.create_experiment(experiment)


class ParametersCheckHook:
    """Checks every parameter block when the context starts, so a wrong key stops the run before data is read."""

    @hook_impl(tryfirst=True)
    def after_context_created(self, context: KedroContext) -> None:
        loader = context.config_loader
        source = Path(str(loader.conf_source))
        envs = [loader.base_env, context.env or loader.default_run_env]
        check_parameters(loader["parameters"], [source / env for env in dict.fromkeys(envs) if env])

    @hook_impl
    def after_catalog_created(self, catalog: Any, parameters: dict[str, Any]) -> None:
        """Fit every setting that names columns to the table the schema describes; one note per change."""
        notes = fit_catalog_parameters(catalog, parameters)
        for note in notes:
            logger.info("settings fitted to the table: %s", note)
        if notes:  # the terminal gets the count, info.log every note
            story.info("Settings fitted to your table: %d change(s), listed in info.log", len(notes))


# PRIVATE API (tests/test_private_api.py): kedro-mlflow offers no extension point for these guarantees, so its
# hook is subclassed and each hook method wraps the parent's; the test pins the parent's signatures.
class ProjectMlflowHook(MlflowHook):
    """kedro-mlflow's hook with four guarantees.

    - A fresh ``sqlite:///`` store is created once under a file lock: two first runs at the same moment
      would otherwise corrupt it.
    - An unreachable tracking server stops the run within seconds with a message saying what to do, or,
      when ``tracking.on_unreachable: continue``, the run goes on without tracking.
    - A failed run is marked FAILED in MLflow with the error as its ``error`` tag (rule, column and counts:
      never a customer's id or value).
    - A damaged MLflow store or Optuna study stops the run at once, named, with what to do (exit code 2).
    """

    def __init__(self) -> None:
        super().__init__()
        self._tracking_off = False

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        self._tracking_off = False  # the hook instance outlives a session (settings.HOOKS)
        uri, experiment, settings = _tracking_settings(context)
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(settings.get("http_max_retries", 2)))
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(settings.get("http_timeout_seconds", 15)))
        if uri.startswith(("http://", "https://")):
            reason = server_unreachable_reason(uri, settings.get("connect_timeout_seconds", 5))
            if reason is not None:
                self._handle_unreachable(uri, reason, settings.get("on_unreachable", "fail"))
                return
        else:
            check_state_file(uri, "The MLflow tracking store", MLFLOW_REMEDY)
            initialise_sqlite_once(uri, lambda: _prepare_local_store(uri, experiment, Path(context.project_path)))
        storage = ((context.config_loader["parameters"].get("tuning") or {}).get("study") or {}).get("storage", "")
        check_state_file(str(storage), "The Optuna study", OPTUNA_REMEDY)
        super().after_context_created(context)

    def _handle_unreachable(self, uri: str, reason: str, policy: str) -> None:
        """Fail with instructions, or switch tracking off for this run when the parameters allow it."""
        if policy != "continue":
            raise TrackingUnavailableError(
                f"the MLflow tracking server {uri} does not answer ({reason}). Start it, or unset "
                "MLFLOW_TRACKING_URI to track in the local sqlite:///mlflow.db, or run without tracking: "
                "kedro run --params tracking.on_unreachable=continue"
            )
        logger.warning("MLflow tracking server %s does not answer (%s): running WITHOUT tracking", uri, reason)
        self._tracking_off = True

    @hook_impl
    def after_catalog_created(  # noqa: PLR0913 - pluggy passes hook arguments by name
        self,
        catalog: Any,
        conf_catalog: dict[str, Any],
        conf_creds: dict[str, Any],
        parameters: dict[str, Any],
        save_version: str,
        load_versions: dict[str, str],
    ) -> None:
        if self._tracking_off:
            switch_catalog_logging(catalog, False)
            return
        super().after_catalog_created(catalog, conf_catalog, conf_creds, parameters, save_version, load_versions)

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if not self._tracking_off:
            super().before_pipeline_run(run_params=run_params, pipeline=pipeline, catalog=catalog)

    @hook_impl
    def before_node_run(self, node: Any, catalog: Any, inputs: dict[str, Any], is_async: bool) -> None:
        if not self._tracking_off:
            # Typed settings are logged as the parameter trees they were read from.
            as_logged = {name: plain(value) for name, value in inputs.items()}
            super().before_node_run(node=node, catalog=catalog, inputs=as_logged, is_async=is_async)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if not self._tracking_off:
            super().after_pipeline_run(run_params=run_params, pipeline=pipeline, catalog=catalog)

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if self._tracking_off:
            return
        if tracking.outage(error):  # the server stopped answering: every further call would wait and fail
            logger.debug("tracking server lost during the run: the MLflow run is left to it")
            return
        if mlflow.active_run() is not None:
            mlflow.set_tag("error", tracking_safe_message(error)[:MAX_ERROR_TAG_LENGTH])
        super().on_pipeline_error(error=error, run_params=run_params, pipeline=pipeline, catalog=catalog)
