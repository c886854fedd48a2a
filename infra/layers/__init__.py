"""The stack program's layers, declared in order by ``infra.program.build``.

Each layer module turns one part of the stack config into components and returns the
facts later layers need (namespaces, gateways, scheduling facts, storage):
platform (add-ons and Kubeflow), capacity (accelerator pools and storage), serving,
pipelines.
"""
