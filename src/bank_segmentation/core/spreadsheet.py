"""CSV exports that are safe to open in a spreadsheet: no cell can run as a formula."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

# A spreadsheet treats a cell starting with one of these as a formula (or a control character).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A plain signed number ("-120.5", "+3e2") is read as a number, never as a formula: it stays as written, so a
# quarantined negative balance reads as the value the file held. Anything more ("-2+3") is escaped.
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)


def escape_cell(value: Any) -> Any:
    """Neutralise a text cell a spreadsheet would run as a formula by prefixing an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` whose text cells and header cannot be interpreted as spreadsheet formulas."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(escape_cell)
    safe.columns = [escape_cell(str(col)) for col in safe.columns]
    return safe
