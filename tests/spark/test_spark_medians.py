"""Exact grouped medians on Spark equal pandas' on columns shaped like card data: heavy ties (a frequency of 0,
tenure 12), ties inside the bracket, long tails, blanks, an even and an odd group, an empty column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bank_segmentation.spark import medians
from bank_segmentation.spark.medians import exact_medians


@pytest.fixture(scope="module")
def card_columns() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 6_001
    frame = pd.DataFrame(
        {
            "group": rng.choice([0, 1, 2], size=n, p=[0.6, 0.3, 0.1]),
            "balance": rng.lognormal(7, 1.5, n).round(2),  # continuous, long tail
            "frequency": np.where(rng.random(n) < 0.55, 0.0, rng.choice([1 / 12, 0.5, 1.0], size=n)),  # mostly 0
            "tenure": np.where(rng.random(n) < 0.85, 12.0, rng.integers(6, 12, n)),  # one value for most
            "installments": rng.choice([0.0, 250.0, 250.0, 250.0, 900.0], size=n) + rng.random(n).round(0),  # ties
            "with_blanks": np.where(rng.random(n) < 0.3, np.nan, rng.normal(0, 1, n)),
            "blank": np.nan,
        }
    )
    frame.loc[frame["group"] == 2, "frequency"] = 0.5  # a group entirely on one value
    return frame


def test_grouped_and_whole_medians_equal_pandas(spark, card_columns: pd.DataFrame) -> None:
    columns = [c for c in card_columns.columns if c != "group"]
    frame = spark.createDataFrame(card_columns)

    grouped = exact_medians(frame, columns, "group")
    expected = card_columns.groupby("group")[columns].median()
    pd.testing.assert_frame_equal(grouped.astype(float), expected.astype(float), check_names=False, rtol=0, atol=0)

    whole = exact_medians(frame, columns).iloc[0]
    pd.testing.assert_series_equal(whole.astype(float), card_columns[columns].median(), check_names=False, rtol=0)


def test_medians_bracketed_from_a_sample_are_exact(spark, card_columns: pd.DataFrame, monkeypatch) -> None:
    """Brackets read off a small seeded sample (as on a large table) still give pandas' exact medians."""
    monkeypatch.setattr(medians, "BRACKET_SAMPLE_ROWS", 500)
    columns = [c for c in card_columns.columns if c != "group"]
    grouped = exact_medians(spark.createDataFrame(card_columns), columns, "group")
    expected = card_columns.groupby("group")[columns].median()
    pd.testing.assert_frame_equal(grouped.astype(float), expected.astype(float), check_names=False, rtol=0, atol=0)
