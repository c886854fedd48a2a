"""The shared base every layer may use: errors, findings, naming, credentials, suggestions.

It imports nothing of mlplane's other packages (import-linter checks it, tests/test_layers.py).
"""
