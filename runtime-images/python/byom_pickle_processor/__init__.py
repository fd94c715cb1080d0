"""Artifact processor for `python/pickle`: a pickle/joblib file plus its declared framework."""
