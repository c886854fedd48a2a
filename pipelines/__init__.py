"""Concrete pipelines (mnist.py) and the KFP v1 compatibility layer."""
