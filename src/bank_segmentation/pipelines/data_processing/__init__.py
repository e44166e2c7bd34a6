"""Validate, clean and enrich the customer table into the model input."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
