"""Errors a user can act on: they name the file, the column, the rule and example rows."""

from __future__ import annotations

from collections.abc import Sequence


class SegmentationError(ValueError):
    """An error the user can fix from its message alone: shown without a stack trace."""


class ConfigurationError(SegmentationError):
    """A parameter in conf/ has a value the project cannot use."""


class DataContractError(SegmentationError):
    """The input table breaks a rule that cannot be repaired or quarantined."""

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
        parts = [f"Invalid customer table '{source or '<in-memory table>'}'"]
        if column is not None:
            parts.append(f"column '{column}'")
        if rule is not None:
            parts.append(f"rule '{rule}'")
        text = ", ".join(parts) + f": {message}"
        if self.examples:
            text += "\n  examples (row number: value): " + "; ".join(self.examples)
        super().__init__(text)
