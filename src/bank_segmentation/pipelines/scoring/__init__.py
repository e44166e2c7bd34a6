"""Score new customers with the trained model and measure drift against the training population."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
