"""Kedro looks for the project's commands in ``<package>.cli``; they live in the framework."""

from bank_segmentation.framework.cli import cli

__all__ = ["cli"]
