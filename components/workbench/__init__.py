"""Workbenches: notebook servers (Jupyter, VS Code, RStudio) and TensorBoards, declared per profile."""
