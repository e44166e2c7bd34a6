"""Silence known, harmless warnings raised inside third-party libraries, so a clean run is quiet."""

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator

PYSPARK_ON_PANDAS_3 = "PySpark does not yet fully support pandas"  # pyspark 4.3 with pandas 3, once per process
# (message regex, category) pairs; each is raised by a dependency, not by this project's code.
THIRD_PARTY_WARNINGS = (
    (r"register_new_resolver\(\) is deprecated", UserWarning),  # omegaconf, via kedro/kedro-mlflow
    (r"The ``noload`` loader strategy is deprecated", Warning),  # sqlalchemy, via mlflow
    (r"the load_module\(\) method is deprecated", DeprecationWarning),  # importlib, via plugins
    (r"pkg_resources is deprecated", UserWarning),
    (r"Support for class-based `config` is deprecated", Warning),  # pydantic, via kedro-mlflow
    (r"Accessing the 'model_fields' attribute on the instance", Warning),  # pydantic, via kedro's typed params
    (r".*Add type hints to the `predict` method", UserWarning),  # mlflow, on kedro-mlflow's pipeline model
    (PYSPARK_ON_PANDAS_3, FutureWarning),
    (r"The copy keyword is deprecated", Warning),  # pandas 3, inside pyspark's toPandas
)


def silence_third_party_warnings() -> None:
    """Ignore the dependency warnings listed in ``THIRD_PARTY_WARNINGS``."""
    for message, category in THIRD_PARTY_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)


def import_kedro_mlflow_quietly() -> None:
    """Import kedro-mlflow's model wrapper once, dropping mlflow's type-hint advice about it.

    mlflow forces that advice through ``simplefilter("once")`` inside its own ``catch_warnings``, so
    no filter can stop it; recording the warnings of this one import swallows it instead.
    """
    with warnings.catch_warnings(record=True):
        import kedro_mlflow.mlflow  # noqa: F401


@contextlib.contextmanager
def quiet_logger(name: str) -> Iterator[None]:
    """Raise one logger to ERROR for the duration of the block (a library's chatter about what we meant)."""
    target = logging.getLogger(name)
    previous = target.level
    target.setLevel(logging.ERROR)
    try:
        yield
    finally:
        target.setLevel(previous)


def route_mlflow_logs_to_project_logging() -> None:
    """Send mlflow's log records through the project's handlers (info.log; the terminal only from WARNING).

    On import mlflow gives its logger a handler of its own on stderr that does not propagate, so "Creating
    initial MLflow database tables" and the like would reach the terminal whatever ``conf/logging.yml`` says.
    """
    mlflow_logger = logging.getLogger("mlflow")
    for handler in list(mlflow_logger.handlers):
        mlflow_logger.removeHandler(handler)
    mlflow_logger.propagate = True


@contextlib.contextmanager
def without_artifact_progress_bars() -> Iterator[None]:
    """No MLflow "Downloading artifacts" bars for the block (the copies are local and take milliseconds)."""
    name = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    previous = os.environ.get(name)
    os.environ[name] = "false"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous
