"""KServe's storage initializer named by ``latest``, pinned to the chart's own release tag.

Both KServe charts hard-code ``kserve/storage-initializer:latest`` where their values are not
used: the ``default`` ClusterStorageContainer of v0.11.2 (``templates/clusterstoragecontainer.yaml``:
``image: kserve/storage-initializer:latest``; v0.16.0 reads the values there) and the
``localModel`` download job's ``defaultJobImage`` of v0.16.0 (``templates/configmap.yaml``).
Everywhere else the same chart names ``{{ .Values.kserve.storage.image }}:{{ .Values.kserve.storage.tag }}``,
``kserve/storage-initializer`` at the chart's version (``values.yaml``: ``tag: *defaultVersion``),
e.g. ``inferenceservice-config``'s ``storageInitializer``. mlplane names that one there too,
so a model's storage initializer is the release's wherever KServe takes it from.
"""

from __future__ import annotations

import pulumi

from mlplane.components.images.pin import image_transform

STORAGE_INITIALIZER = "kserve/storage-initializer"
#: Marks the transform (tests find it by this attribute).
KSERVE_TRANSFORM = "_mlplane_kserve_images"


def storage_initializer_transform(version: str) -> pulumi.ResourceTransform:
    """The transform on KServe's controller chart: ``kserve/storage-initializer:latest`` ->
    ``kserve/storage-initializer:<version>`` (``version`` as the chart's tag, e.g. ``v0.16.0``)."""
    latest, pinned = f"{STORAGE_INITIALIZER}:latest", f"{STORAGE_INITIALIZER}:{version}"
    return image_transform(lambda image: pinned if image == latest else image, KSERVE_TRANSFORM, version)
