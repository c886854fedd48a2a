"""The KFP profile controller's per-namespace objects, from its own ``sync.py``.

KFP's multi-user install runs ``sync.py`` (kubeflow/manifests ``apps/pipeline/upstream/base/
installs/multi-user/pipelines-profile-controller/sync.py`` at v1.8.1, ``applications/...``
at 26.03) as a metacontroller hook: for every namespace labelled
``pipelines.kubeflow.org/enabled: "true"`` it returns the objects to create there (on
1.8.1 a visualization server with its AuthorizationPolicy, the artifact proxy, the
artifact Secret; on 26.03 ConfigMaps, the artifact Secret with a per-namespace S3
identity, and the proxy when enabled).

Rather than restating that code, the evaluator runs the very file the plan ships (the
``sync.py`` key of the controller's ConfigMap) with the environment the plan gives the
controller's container. Its I/O is replaced: ``HTTPServer`` is not started (the handler
class is taken), and botocore's clients only record calls (the IAM user policy a
namespace's key gets is kept, :class:`Recorder`).
"""

from __future__ import annotations

import json
import os
import sys
import types
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from io import StringIO
from typing import Any


class Recorder:
    """A botocore client stand-in: records every call, answers what sync.py reads."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            if name == "create_access_key":
                user = kwargs.get("UserName", "user")
                return {"AccessKey": {"AccessKeyId": f"key-{user}", "SecretAccessKey": "[secret]"}}
            if name.startswith("get_") or name.startswith("list_"):
                raise LookupError(name)  # nothing exists yet: sync.py creates it
            return {}
        return call


def _fake_botocore(recorder: Recorder) -> dict[str, types.ModuleType]:
    session_module = types.ModuleType("botocore.session")
    session = types.SimpleNamespace(create_client=lambda *a, **k: recorder)
    session_module.get_session = lambda: session  # type: ignore[attr-defined]
    package = types.ModuleType("botocore")
    package.session = session_module  # type: ignore[attr-defined]
    return {"botocore": package, "botocore.session": session_module}


@contextmanager
def _patched(env: Mapping[str, str], modules: Mapping[str, types.ModuleType]) -> Iterator[None]:
    saved_env, saved_modules = dict(os.environ), {k: sys.modules.get(k) for k in modules}
    os.environ.update(env)
    sys.modules.update(modules)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        for key, value in saved_modules.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value


def _container_env(objects: list[Mapping[str, Any]], deployment: Mapping[str, Any]) -> dict[str, str]:
    configmaps = {(o["metadata"].get("namespace"), o["metadata"]["name"]): o.get("data") or {}
                  for o in objects if o.get("kind") == "ConfigMap"}
    namespace = deployment["metadata"].get("namespace")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, str] = {}
    for source in container.get("envFrom") or ():
        ref = source.get("configMapRef")
        if ref:
            env.update({k: str(v) for k, v in configmaps.get((namespace, ref["name"]), {}).items()})
    for item in container.get("env") or ():
        if "value" in item:
            env[item["name"]] = str(item["value"])
            continue
        ref = (item.get("valueFrom") or {}).get("configMapKeyRef")
        if ref and ref["key"] in configmaps.get((namespace, ref["name"]), {}):
            env[item["name"]] = str(configmaps[(namespace, ref["name"])][ref["key"]])
        elif (item.get("valueFrom") or {}).get("secretKeyRef"):
            env[item["name"]] = "[secret]"
    return env


def sync_objects(objects: list[Mapping[str, Any]], namespace: Mapping[str, Any]) -> tuple[list[dict[str, Any]], Recorder]:
    """What the plan's KFP profile controller creates in ``namespace`` (a Namespace object).

    Returns:
        ``(objects, recorder)``; ``([], recorder)`` when the plan has no such controller.
    """
    code = next((str(o["data"]["sync.py"]) for o in objects if o.get("kind") == "ConfigMap"
                 and "sync.py" in (o.get("data") or {})), None)
    deployment = next((o for o in objects if o.get("kind") == "Deployment"
                       and o["metadata"]["name"] == "kubeflow-pipelines-profile-controller"), None)
    recorder = Recorder()
    if code is None or deployment is None:
        return [], recorder
    scope: dict[str, Any] = {"__name__": "kfp_profile_controller_sync"}
    with _patched(_container_env(objects, deployment), _fake_botocore(recorder)), redirect_stdout(StringIO()):
        exec(compile(code, "sync.py", "exec"), scope)  # noqa: S102 - upstream's own controller code, from the plan
        scope["HTTPServer"] = lambda address, handler: handler
        handler = scope["server_factory"](**scope["get_settings_from_env"]())
        controller = handler.__new__(handler)
        result = controller.sync(json.loads(json.dumps(namespace)), defaultdict(dict))
    return list(result.get("children") or result.get("attachments") or []), recorder
