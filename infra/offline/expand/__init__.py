"""Offline expansion: every ``helm.v4.Chart`` and ``kustomize.v2.Directory`` of a plan
into the objects pulumi-kubernetes would register, as child resources.

Runs after the mock run, over the recorded plan. Sources come from folders in the layout
of ``../shared/upstream`` (``--sources DIR``, then the cache's ``sources/``); a source
that is in none of them stays one opaque resource, and the result says which.
"""
