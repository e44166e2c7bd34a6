"""Write the bad-input corpus under tests/data/bad_inputs/, built from the synthetic demo generator.

Run ``uv run python tests/data/make_bad_inputs.py``; tests/test_bad_inputs.py states the expected outcome of
every file and checks that this script still writes exactly the committed corpus.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from bank_segmentation.pipelines.demo_data.generator import generate_portfolio

CORPUS_DIR = Path(__file__).resolve().parent / "bad_inputs"
N_ROWS, SEED = 120, 7
BAD_ROWS = [4, 11, 57]  # rows (0-based) that carry the defect where a case breaks individual rows


def demo_table() -> pd.DataFrame:
    """A small demo portfolio as text, the way an export holds it."""
    customers, _ = generate_portfolio(N_ROWS, SEED, id_prefix="B")
    return customers.astype(str).replace({"nan": ""})


def to_bytes(frame: pd.DataFrame, sep: str = ",", encoding: str = "utf-8") -> bytes:
    """CSV bytes of ``frame``."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, sep=sep, lineterminator="\n")
    return buffer.getvalue().encode(encoding)


def with_cells(column: str, values: list[str], rows: list[int] = BAD_ROWS) -> Callable[[pd.DataFrame], bytes]:
    """A case that writes ``values`` into ``column`` on ``rows``."""

    def build(frame: pd.DataFrame) -> bytes:
        frame = frame.copy()
        frame.loc[rows, column] = values
        return to_bytes(frame)

    return build


def _header_variants(frame: pd.DataFrame) -> bytes:
    frame = frame.copy()
    frame.columns = [f"  {col.lower()} " if i % 2 else col.title() for i, col in enumerate(frame.columns)]
    return to_bytes(frame, encoding="utf-8-sig")


def _semicolon_decimal_comma(frame: pd.DataFrame) -> bytes:
    return to_bytes(frame.apply(lambda col: col.str.replace(".", ",", regex=False)), sep=";")


def _identical_rows(frame: pd.DataFrame) -> bytes:
    same = pd.concat([frame.iloc[[0]]] * N_ROWS, ignore_index=True)
    same["CUST_ID"] = [f"B{i:06d}" for i in range(1, N_ROWS + 1)]
    return to_bytes(same)


def _non_utf8(frame: pd.DataFrame) -> bytes:
    frame = frame.assign(BRANCH=np.where(np.arange(len(frame)) % 2, "Zürich", "Besançon"))
    return to_bytes(frame, encoding="cp1252")


def _very_wide(frame: pd.DataFrame) -> bytes:
    extra = pd.DataFrame({f"EXTRA_{i:04d}": "0" for i in range(2000)}, index=frame.index)
    return to_bytes(pd.concat([frame, extra], axis=1))


CASES: dict[str, Callable[[pd.DataFrame], bytes]] = {
    "empty_file": lambda frame: b"",
    "header_only": lambda frame: to_bytes(frame.head(0)),
    "missing_required_column": lambda frame: to_bytes(frame.drop(columns="TENURE")),
    "unknown_extra_columns": lambda frame: to_bytes(frame.assign(BRANCH_CODE="B12", OLD_SEGMENT="gold")),
    "header_case_spaces_bom": _header_variants,
    "semicolon_decimal_comma": _semicolon_decimal_comma,
    "excel_errors_and_text": with_cells("BALANCE", ["#DIV/0!", "#VALUE!", "twelve"]),
    "negative_amounts": with_cells("PURCHASES", ["-10.5", "-0.01", "-99999"]),
    "frequencies_above_one": with_cells("CASH_ADVANCE_FREQUENCY", ["1.5", "1.25", "7"]),
    "nan_and_inf": with_cells("PAYMENTS", ["NaN", "inf", "-inf"]),
    "duplicate_ids": with_cells("CUST_ID", ["B000001", "B000001", "B000002"]),
    "missing_ids": with_cells("CUST_ID", ["", " ", ""]),
    "fewer_rows_than_k": lambda frame: to_bytes(frame.head(2)),
    "identical_rows": _identical_rows,
    "empty_column": with_cells("CREDIT_LIMIT", [""] * N_ROWS, rows=list(range(N_ROWS))),
    "absurd_magnitudes": with_cells("BALANCE", ["1e300", "-1e300", "3.5e15"]),
    "non_utf8_encoding": _non_utf8,
    "very_wide_file": _very_wide,
}


def build_corpus() -> dict[str, bytes]:
    """File name -> content of every case."""
    frame = demo_table()
    return {f"{name}.csv": build(frame) for name, build in CASES.items()}


def main() -> None:
    """Write the corpus to tests/data/bad_inputs/."""
    CORPUS_DIR.mkdir(parents=True, exist_ok=True)
    for name, content in build_corpus().items():
        (CORPUS_DIR / name).write_bytes(content)


if __name__ == "__main__":
    main()
