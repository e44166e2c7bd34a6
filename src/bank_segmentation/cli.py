"""Project command line: Kedro's ``run`` with errors a user can act on shown plainly.

A bad input file or parameter stops the run with one message that names the file, column, rule and example
rows, and exit code 2, instead of a stack trace. Any other failure keeps Kedro's full traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run

from bank_segmentation.errors import SegmentationError

logger = logging.getLogger(__name__)
USER_ERROR_EXIT_CODE = 2


def find_user_error(exc: BaseException | None) -> SegmentationError | None:
    """The first error in the exception chain that explains itself to a user."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, SegmentationError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


@click.group(name="bank_segmentation")
def cli() -> None:
    """Commands of the bank-customer-segmentation project."""


def _run(**kwargs: Any) -> Any:
    """Kedro's run, turning a user-facing error into a plain message and exit code 2."""
    try:
        return kedro_run.callback(**kwargs)
    except Exception as exc:
        problem = find_user_error(exc)
        if problem is None:
            raise
        click.secho(f"\nRun stopped: {problem}\n", fg="red", err=True)
        raise click.exceptions.Exit(USER_ERROR_EXIT_CODE) from None


cli.add_command(click.Command(name="run", params=kedro_run.params, callback=_run, help=kedro_run.help))
