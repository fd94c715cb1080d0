"""Byom's scorer: the scorer API of DESIGN §4 over a ready model (model type python/ready-model)."""
