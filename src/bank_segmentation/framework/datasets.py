"""Custom Kedro datasets."""

from __future__ import annotations

import io
import logging
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset
from kedro_datasets.pandas import ParquetDataset

from bank_segmentation.core.errors import DataContractError
from bank_segmentation.core.validation import DELIMITER_ATTR, SOURCE_ATTR, sniff_delimiter

logger = logging.getLogger(__name__)

ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


class CustomerTableDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """A customer CSV export read as text, whatever its encoding, delimiter or BOM.

    Every cell is loaded as a string so that validation can report the exact rows whose values are not
    numbers; the file path travels with the frame in ``DataFrame.attrs["source"]`` for error messages.
    Without the file, ``fallback_filepath`` (the shipped demo) is read instead, and the log says so.
    """

    def __init__(
        self, filepath: str, fallback_filepath: str | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        self._filepath = PurePosixPath(filepath)
        self._fallback = PurePosixPath(fallback_filepath) if fallback_filepath else None
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "fallback_filepath": str(self._fallback)}

    def _load(self) -> pd.DataFrame:
        path = Path(self._filepath)
        if not path.is_file() and self._fallback is not None:
            logger.info(
                "%s not found: using the shipped demo %s (save your own export at %s)", path, self._fallback, path
            )
            path = Path(self._fallback)
        if not path.is_file():
            raise DataContractError("the file does not exist", source=str(path), rule="file_exists")
        raw = path.read_bytes()
        text, encoding = _decode(raw)
        if encoding != "utf-8-sig":
            logger.warning("%s is not UTF-8; read it as %s", path, encoding)
        if not text.strip():
            raise DataContractError("the file is empty", source=str(path), rule="not_empty")
        delimiter = sniff_delimiter(text.splitlines()[0])
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
        )
        frame.attrs[SOURCE_ATTR] = str(path)
        frame.attrs[DELIMITER_ATTR] = delimiter
        return frame

    def _save(self, data: pd.DataFrame) -> None:
        path = Path(self._filepath)
        path.parent.mkdir(parents=True, exist_ok=True)
        data.to_csv(path, index=False)

    def _exists(self) -> bool:
        return Path(self._filepath).is_file() or (self._fallback is not None and Path(self._fallback).is_file())


class AtomicParquetDataset(ParquetDataset):
    """A local Parquet file replaced in one step: a reader (another run) sees the old file or the new one,
    never a truncated one. Other protocols save as ``ParquetDataset`` does."""

    def save(self, data: pd.DataFrame) -> None:
        """Write to a temporary file beside the target, then rename it over the target."""
        if self._protocol != "file":
            super().save(data)
            return
        target = Path(self._get_save_path())
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(handle)
        try:
            data.to_parquet(temporary, **self._save_args)
            os.replace(temporary, target)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        self._invalidate_cache()


def _decode(raw: bytes) -> tuple[str, str]:
    """Decode bytes with the first encoding that fits; the BOM is dropped."""
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any byte string")  # pragma: no cover
