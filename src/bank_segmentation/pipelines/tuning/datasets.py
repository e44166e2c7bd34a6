"""Catalog dataset of the tuning hand-off."""

from __future__ import annotations

from typing import Any

from kedro_datasets.yaml import YAMLDataset


class OptionalYAMLDataset(YAMLDataset):
    """A YAML file that loads as ``None`` while it does not exist yet.

    ``best_segmentation_config`` feeds the training node in every mode, but only the ``tuned`` mode
    reads it: ``kedro run --pipelines training`` in ``sweep`` or ``pinned`` mode must work before any
    study ran.
    """

    def load(self) -> Any:
        """The YAML content, or ``None`` when the file is absent."""
        if not self._exists():
            return None
        return super().load()
