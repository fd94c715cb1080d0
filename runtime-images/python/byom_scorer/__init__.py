"""Byom's scorer: the scorer API of docs/scorer-api.md over a ready model (model type python/ready-model)."""
