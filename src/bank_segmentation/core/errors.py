"""Errors a user can act on: they name the file, the column, the rule and example rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

# Text after this separator in a DataContractError message may quote the file (e.g. its header line);
# what comes before states the problem with its counts only.
QUOTE_SEPARATOR = "; "


E = TypeVar("E", bound=BaseException)


class SegmentationError(ValueError):
    """An error the user can fix from its message alone: shown without a stack trace."""


class ConfigurationError(SegmentationError):
    """A parameter in conf/ has a value the project cannot use."""


class DataContractError(SegmentationError):
    """The input table breaks a rule that cannot be repaired or quarantined.

    ``message`` states the problem with its counts first; text quoted from the file goes after
    ``QUOTE_SEPARATOR`` or, for cell values and ids, in ``examples``. Both are shown to the user only.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        column: str | None = None,
        rule: str | None = None,
        examples: Sequence[str] = (),
    ) -> None:
        self.source, self.column, self.rule, self.examples = source, column, rule, list(examples)
        self.detail = message
        text = _located(source, column, rule, message)
        if self.examples:
            text += "\n  examples (row number: value): " + "; ".join(self.examples)
        super().__init__(text)


def _located(source: str | None, column: str | None, rule: str | None, detail: str) -> str:
    """'Invalid customer table <file>, column <c>, rule <r>: <detail>'."""
    parts = [f"Invalid customer table '{source or '<in-memory table>'}'"]
    if column is not None:
        parts.append(f"column '{column}'")
    if rule is not None:
        parts.append(f"rule '{rule}'")
    return ", ".join(parts) + f": {detail}"


def find_in_chain(error: BaseException | None, kind: type[E]) -> E | None:
    """The first error of type ``kind`` in ``error``'s chain (causes and contexts), if any: a dataset, a hook or
    Kedro wraps what was raised underneath."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, kind):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def tracking_safe_message(error: BaseException) -> str:
    """``type: message`` for a tracking server: file, column, rule and counts, never example values or ids."""
    contract = find_in_chain(error, DataContractError)
    if contract is None:
        return f"{type(error).__name__}: {error}"
    problem = contract.detail.split(QUOTE_SEPARATOR, 1)[0]
    return f"{type(contract).__name__}: {_located(contract.source, contract.column, contract.rule, problem)}"
