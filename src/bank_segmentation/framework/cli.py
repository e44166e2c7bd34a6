"""Project command line: Kedro's ``run`` with errors a user can act on shown plainly.

A bad input file or parameter, a damaged state file, or a tracking server that stops answering stops the
run with one message that says what to do, and exit code 2, instead of a stack trace. Any other failure
keeps Kedro's full traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run
from kedro.io import DatasetError

from bank_segmentation.core.errors import SegmentationError, find_in_chain
from bank_segmentation.framework import tracking

logger = logging.getLogger(__name__)
USER_ERROR_EXIT_CODE = 2
PACKAGE = __name__.split(".", 1)[0]


@click.group(name="bank_segmentation")
def cli() -> None:
    """Commands of the bank-customer-segmentation project."""


def _run(**kwargs: Any) -> Any:
    """Kedro's run, turning a user-facing error into a plain message and exit code 2."""
    try:
        return kedro_run.callback(**kwargs)
    except Exception as exc:
        problem = find_in_chain(exc, SegmentationError)
        if problem is None and (lost := tracking.outage(exc)):
            problem = SegmentationError(
                f"the MLflow tracking server stopped answering during the run ({lost}). Nothing of this run was "
                "published: the last good outputs stay current. Rerun when the server answers, or without "
                "tracking: kedro run --params tracking.on_unreachable=continue"
            )
        if problem is None and (moved := _saved_by_an_earlier_version(exc)):
            problem = SegmentationError(moved)
        if problem is None:
            raise
        click.secho(f"\nRun stopped: {problem}\n", fg="red", err=True)
        raise click.exceptions.Exit(USER_ERROR_EXIT_CODE) from None


def _saved_by_an_earlier_version(exc: BaseException) -> str | None:
    """What to do when a saved model or statistic refers to project code that has since moved, or ``None``."""
    missing = find_in_chain(exc, ModuleNotFoundError)
    if missing is None or not (missing.name or "").startswith(f"{PACKAGE}."):
        return None
    failed_load = find_in_chain(exc, DatasetError)
    dataset = str(failed_load).split(":", 1)[0] if failed_load is not None else "a saved output"
    return (
        f"{dataset} was saved by an earlier version of this project (module {missing.name} no longer exists). "
        "Retrain with `kedro run`: scoring then uses the newly published model."
    )


cli.add_command(click.Command(name="run", params=kedro_run.params, callback=_run, help=kedro_run.help))
