"""Bank customer segmentation: a Kedro project that turns credit-card behaviour into named segments."""

__version__ = "0.1.0"
