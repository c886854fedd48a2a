"""Storage: StorageClasses, model and data volumes, and the artifact store.

``spec`` is pure; ``classes``, ``volume`` and ``artifacts`` are the components. The cloud
artifact stores (``gcs``, ``s3``, ``azure_blob``) import their SDK only when a stack
uses them.
"""
