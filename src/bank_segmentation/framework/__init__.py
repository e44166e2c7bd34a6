"""Kedro, MLflow and Optuna plumbing: hooks, session, datasets, tracking, locking, run isolation, the CLI.

May import the core, never a pipeline.
"""
