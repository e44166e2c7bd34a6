"""The served model's code for MLflow's models-from-code: MLflow runs this file to build the model it serves.

Saving the model class by reference, rather than pickling an instance, keeps the artifact free of pickled
code and of MLflow's warning about it.
"""

from mlflow.models import set_model

from bank_segmentation.framework.served import SegmentationService

set_model(SegmentationService())
