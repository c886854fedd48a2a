"""The pod Argo makes of a Workflow template, as far as the Workflow decides it, for Kubernetes'
own schema (kubernetes-validate): the template's containers, and Argo's executor containers as
the template's ``podSpecPatch`` leaves them (with an image, which Argo's configuration gives)."""

from __future__ import annotations

import json
from typing import Any

#: Stands in for the executor image Argo's configuration gives its containers.
EXECUTOR_IMAGE = "argoexec:v1"


def executor_containers(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Argo's containers of the template's pod as its patch leaves them, by list key."""
    patch = json.loads(template["podSpecPatch"])
    return {key: [{**c, "image": EXECUTOR_IMAGE, "command": ["argoexec"]} for c in patch.get(key, [])]
            for key in ("initContainers", "containers")}


def argo_pod(template: dict[str, Any]) -> dict[str, Any]:
    """The pod of a container or resource template (a resource template's pod is all Argo's)."""
    executor = executor_containers(template)
    own = []
    if "container" in template:
        own = [{"name": "main", **template["container"]},
               *({k: v for k, v in c.items() if k != "mirrorVolumeMounts"} for c in template.get("sidecars", []))]
    spec = {"containers": [*own, *executor["containers"]], "initContainers": executor["initContainers"],
            **{k: template[k] for k in ("volumes", "tolerations", "nodeSelector", "securityContext") if k in template}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", **(template.get("metadata") or {})},
            "spec": spec}
