"""Pipelines as infrastructure: the pipeline spec, and the components that run it."""
