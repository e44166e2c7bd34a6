"""The model choice: one rule over the candidates of the sweep and the search (or a pin)."""

from bank_segmentation.pipelines.model_choice.pipeline import create_pipeline

__all__ = ["create_pipeline"]
