"""The domain: column roles, the data contract, imputation, preprocessing, metrics, naming and the model choice.

Imports nothing else of the project (tests/test_layers.py enforces it).
"""
