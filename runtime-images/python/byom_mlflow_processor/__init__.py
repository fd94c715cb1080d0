"""Artifact processor for `python/mlflow`: an MLflow model zip becomes a ready model."""
